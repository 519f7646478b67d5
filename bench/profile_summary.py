"""Where a worker's time goes: sums py-spy's folded stacks (bench/ingest.py --profile DIR).

    .venv/bin/python bench/profile_summary.py DIR [--top 30]

Prints, for the functions of Trao and of the libraries it calls, the share of samples in which
each appears (inclusive), and the share each leaf takes (exclusive), heaviest first.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<name>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")


def _frame(text: str) -> str:
    match = FRAME.match(text.strip())
    if not match:
        return text.strip()
    file = match["file"].split("site-packages/")[-1].split("/work/main/")[-1]
    return f"{match['name']} ({file})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    inclusive, exclusive, total = Counter(), Counter(), 0
    for path in args.folder.glob("*.txt"):
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            frames = [_frame(f) for f in stack.split(";")]
            n = int(count)
            total += n
            for frame in set(frames):
                inclusive[frame] += n
            exclusive[frames[-1]] += n
    print(f"{total} samples")
    print("inclusive:")
    for frame, n in inclusive.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {frame}")
    print("exclusive:")
    for frame, n in exclusive.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
