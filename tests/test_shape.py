"""The shape of the code: no two modules import each other.

A mutual import (even one only for type checking) means two modules are one idea split in the
wrong place. The one exception is Flask's blueprint idiom: a feature's package creates `bp`
and imports its views, which import `bp` back.
"""

from __future__ import annotations

import ast
from pathlib import Path

BACKEND = Path(__file__).resolve().parents[1] / "backend"


def _module_name(path: Path) -> str:
    parts = path.relative_to(BACKEND.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(node: ast.AST):
    """Import statements run when the module loads (also under `if TYPE_CHECKING:`)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If | ast.Try):
            yield from _top_level_imports(child)


def import_graph() -> dict[str, set[str]]:
    paths = [p for p in BACKEND.rglob("*.py") if "migrations" not in p.parts]
    modules = {_module_name(p): p for p in paths}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _top_level_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def test_no_two_modules_import_each_other():
    graph = import_graph()
    mutual = sorted(
        (a, b)
        for a, imports in graph.items()
        for b in imports
        if a < b and a in graph[b] and not (b.startswith(a + ".") or a.startswith(b + "."))
    )
    assert mutual == [], f"modules that import each other: {mutual}"


def test_the_check_sees_a_type_checking_import():
    """The cycle issue 7 found was hidden under `if TYPE_CHECKING:`: the graph must see it."""
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a import b\n"
    found = [
        n.module for n in _top_level_imports(ast.parse(source)) if isinstance(n, ast.ImportFrom)
    ]
    assert found == ["typing", "a"]
