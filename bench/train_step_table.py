#!/usr/bin/env python3
"""Turns the JSON lines of `bench/train_step.sh` into a table of median step
times and the ratios of #[grad]'s step to the others (below 1: #[grad] is
faster). Standard library only."""

import json
import statistics
import sys
from collections import defaultdict


def main(path):
    times = defaultdict(list)
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            if "step_us" in r:
                times[(r["model"], r["threads"], r["impl"])].append(r["step_us"])
    med = {k: statistics.median(v) for k, v in times.items()}
    impls = ["rust-grad", "rust-hand", "numpy", "torch"]
    print("| model | threads | " + " | ".join(f"{i} (µs)" for i in impls)
          + " | grad/hand | grad/numpy | grad/torch |")
    print("|" + " --- |" * (2 + len(impls) + 3))
    for model, threads in sorted({(m, t) for m, t, _ in med}):
        row = [med.get((model, threads, i)) for i in impls]
        cells = [f"{v:.0f}" if v is not None else "–" for v in row]
        g = row[0]
        ratios = [f"{g / v:.2f}" if g is not None and v else "–" for v in row[1:]]
        print(f"| {model} | {threads} | " + " | ".join(cells + ratios) + " |")
    n = max((len(v) for v in times.values()), default=0)
    print(f"\n(median of {n} rounds per cell)")


if __name__ == "__main__":
    main(sys.argv[1])
