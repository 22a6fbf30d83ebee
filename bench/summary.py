"""The end of `make bench`: every target the benchmarks judged in this run, met or MISSED."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.targets import VERDICTS  # noqa: E402 - after the path is set


def main() -> None:
    lines = VERDICTS.read_text().splitlines() if VERDICTS.exists() else []
    rows = [json.loads(line) for line in lines]
    print()
    print("Speed targets (issue 24), this run:")
    if not rows:
        print("  none judged: no benchmark ran to the end")
    for row in rows:
        print(f"  {row['verdict']:>10}  {row['target']} — {row['figure']}")
    missed = sum(row["verdict"] == "MISSED" for row in rows)
    print(f"  {len(rows) - missed} of {len(rows)} met or not judged, {missed} missed")


if __name__ == "__main__":
    main()
