"""CSV loading speed and memory, side by side in one run; prints JSON.

A numeric CSV of about `--mb` MB (20 feature columns and a label) is generated in a temporary
folder and read by

- tfspec's loader (tfspec.runtime.csvfile.load_csv: numpy's C parser in 16 MB chunks), and
- the straightforward loader it replaced: `csv.reader` rows into a list, then one
  `np.array(rows, dtype=float64)`,

each in a fresh child process (so that one's memory does not flatter the other), median of N.
Printed: MB/s of each, the speed ratio, and each child's peak resident memory above its start.

    python benchmarks/bench_data.py [--mb 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import csv, resource, sys, time
import numpy as np
path, which = sys.argv[1], sys.argv[2]
if which == "tfspec":
    from tfspec.runtime.csvfile import load_csv
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
if which == "tfspec":
    x, y = load_csv(path, "label")
else:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    table = np.array(rows, dtype=np.float64)
    x, y = table[:, :-1].astype(np.float32), table[:, -1]
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(seconds, (peak - before) / 1024, len(x))
"""


def make_csv(path, megabytes):
    import numpy as np

    rng = np.random.default_rng(0)
    rows = int(megabytes * 1e6 / 190)
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(f"f{i}" for i in range(20)) + ",label\n")
        for start in range(0, rows, 50_000):
            block = rng.normal(size=(min(50_000, rows - start), 20))
            labels = rng.integers(0, 10, len(block))
            f.writelines(",".join(f"{v:.6f}" for v in row) + f",{c}\n" for row, c in zip(block, labels))
    return os.path.getsize(path) / 1e6


def measure(path, which, runs):
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", CHILD, path, which], capture_output=True, text=True, check=True)
        seconds, megabytes, rows = out.stdout.split()
        results.append((float(seconds), float(megabytes), int(rows)))
    return statistics.median(r[0] for r in results), max(r[1] for r in results), results[0][2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "table.csv")
        size = make_csv(path, args.mb)
        ours = measure(path, "tfspec", args.runs)
        plain = measure(path, "csv_module", args.runs)
    assert ours[2] == plain[2], "the two loaders read different numbers of rows"
    print(
        json.dumps(
            {
                "file_mb": round(size, 1),
                "rows": ours[2],
                "tfspec_mb_per_s": round(size / ours[0], 1),
                "csv_module_mb_per_s": round(size / plain[0], 1),
                "speed_ratio": round(plain[0] / ours[0], 2),
                "tfspec_peak_extra_mb": round(ours[1], 1),
                "csv_module_peak_extra_mb": round(plain[1], 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
