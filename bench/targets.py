"""Issue 24's speed targets, each printed as met or MISSED by the benchmark that measures it, and
collected in a file `make bench` reads back at the end (bench/summary.py)."""

import json
import os
from pathlib import Path

# Where each benchmark of one `make bench` run leaves its verdicts (bench/summary.py prints them).
VERDICTS = Path(os.environ.get("BENCH_VERDICTS", "var/bench-verdicts.jsonl"))

LEDGER_ROWS_PER_SECOND = 100_000  # 1,000,000 readers' ledger in ≤ 10 s
END_TO_END_RATIO = 0.85  # of the raw hand-off, over the first 100,000
MEMORY_GROWTH = 0.10  # worker memory against the 10,000-reader point
ESP_BATCH_RATE = 3000  # msg/s at 50 ms latency with 4 worker processes
ESP_BATCH_RATIO = 50  # batch calls against one call per message
WATCH_COST = 0.05  # the reputation watch's share of end-to-end throughput
SCALE_OUT_RATIO = 1.8  # two worker pools against one


def verdict(name: str, met: bool | None, figure: str) -> str:
    """One line: the target, met / MISSED (or not judged, with why), and the figure. Recorded."""
    word = "met" if met else ("not judged" if met is None else "MISSED")
    line = f"  target {name}: {word} — {figure}"
    print(line)
    VERDICTS.parent.mkdir(parents=True, exist_ok=True)
    with VERDICTS.open("a") as out:
        out.write(json.dumps({"target": name, "verdict": word, "figure": figure}) + "\n")
    return line
