"""Make the repository importable for the domain tests; no app, no Flask here."""

import sys
from pathlib import Path

# Until the project's pytest settings put the repository root on sys.path themselves.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
