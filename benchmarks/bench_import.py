"""`tfspec import` on every keras.applications model: import time, spec size, round trip; prints JSON.

For each constructor (all 40 of keras.applications, those named on the command line, or with
--quick a representative 7), benchmarks/applications.py builds the model (weights=None,
classes=10, 32x32x3 input or the smallest the model accepts), randomises its 1-D weights, saves
it as .keras and measures:

- import_seconds: `tfspec.tools.importer.import_file(path)` in-process, TensorFlow already
  started (reading the config, writing the spec, checking it): best of 3 runs when a run is
  under 2 s, else one run;
- lines (and flat_lines, when import_file accepts flat=True): the spec's lines;
- round_trip: the weights file loaded into the functional and the subclassing model built from
  the spec gives the original's parameter count and outputs (max_diff: the largest absolute
  difference of the softmax outputs on 2 random images; equal when <= 1e-5 x the largest output).

A model that fails anywhere is a row with `error` (one line, `stage: reason`); the run goes on.
Memory is freed between models (keras.backend.clear_session, gc); progress goes to stderr.

Output: one JSON object per model on stdout as each finishes; with --markdown, a README-ready
table on stdout instead. --output FILE also writes the whole run as one JSON document.

    python benchmarks/bench_import.py [NAME ...] [--quick] [--markdown] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks import applications  # noqa: E402


def markdown(rows: list) -> str:
    """model | parameters | spec lines | import s | round trip; failures say why in the last column."""
    flat = any(r.get("flat_lines") is not None for r in rows)
    lines = [
        "| model | parameters | spec lines" + (" (flat)" if flat else "") + " | import s | round trip |",
        "|---|---:|---:|---:|---|",
    ]
    for r in rows:
        params = f"{r['params']:,}" if r["params"] is not None else "–"
        spec = str(r["lines"]) if r["lines"] is not None else "–"
        if r.get("flat_lines") is not None:
            spec += f" ({r['flat_lines']})"
        seconds = f"{r['import_seconds']:.2f}" if r["import_seconds"] is not None else "–"
        if r["round_trip"]:
            trip = f"yes (max diff {r['max_diff']:.1e})"
            if (r.get("weights_files") or 1) > 1:
                trip += "; subclassing loads its own weights file"
        else:
            trip = "no: " + (r["error"] or "unknown").replace("|", "\\|")
        lines.append(f"| {r['name']} | {params} | {spec} | {seconds} | {trip} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="constructors to measure (default: all)")
    parser.add_argument(
        "--quick", action="store_true", help="a representative subset: " + ", ".join(applications.QUICK)
    )
    parser.add_argument("--markdown", action="store_true", help="print a README-ready table instead of JSON lines")
    parser.add_argument("--output", metavar="FILE", help="also write the whole run here as one JSON document")
    args = parser.parse_args()

    started = time.perf_counter()
    known = applications.constructors()
    names = args.names or (list(applications.QUICK) if args.quick else known)
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"not in keras.applications: {', '.join(unknown)}")
    import keras

    rows = []
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] {name}", file=sys.stderr, flush=True)
        row = applications.measure(name, log=lambda text: print(f"    {text}", file=sys.stderr, flush=True))
        outcome = "round trip ok" if row["round_trip"] else f"FAILED {row['error']}"
        print(f"    {outcome} ({row['seconds']} s)", file=sys.stderr, flush=True)
        rows.append(row)
        if not args.markdown:
            print(json.dumps(row), flush=True)
    total = time.perf_counter() - started
    passed = sum(r["round_trip"] for r in rows)
    print(f"{passed}/{len(rows)} round trips in {total:.0f} s", file=sys.stderr)
    if args.markdown:
        print(markdown(rows))
    if args.output:
        run = {
            "python": sys.version.split()[0],
            "keras": keras.__version__,
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "tolerance": applications.TOLERANCE,
            "total_seconds": round(total, 1),
            "round_trips": passed,
            "models": rows,
        }
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump(run, handle, indent=2)
            handle.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
