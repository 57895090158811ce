"""What `tfspec tune` keeps of its trials: one row per trial, sorted by the objective (the best
first, failed trials last with their error), written as results.json and results.csv; and the
terminal table of them. No TensorFlow here.

A row is a flat dict: trial, status, each hyperparameter's value, the objective's value, the
other metrics (at the epoch where the objective was best, as KerasTuner reads a History),
seconds, error."""

from __future__ import annotations

import csv
import io
import json
import math
import os

from ..files import write_atomic

FIRST = ("trial", "status")
LAST = ("seconds", "error")


def record_path(out_dir: str, trial_id: str) -> str:
    """Where the process that ran a trial keeps its record: point, metrics, seconds, error."""
    return os.path.join(out_dir, "trials", f"{trial_id}.json")


def read_record(out_dir: str, trial_id: str) -> dict:
    try:
        with open(record_path(out_dir, trial_id), encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def error_of(trial) -> str | None:
    """A failed trial's one-line error from KerasTuner's message (a traceback ending in it)."""
    lines = (trial.message or "").strip().splitlines()
    return lines[-1].split("FailedTrialError: ", 1)[-1] if lines else None


def row_of_trial(trial, point: dict, out_dir: str) -> dict:
    """The row of a trial KerasTuner's oracle holds (at `point`), with the seconds and the error
    of its record."""
    record = read_record(out_dir, trial.trial_id)
    row = {"trial": trial.trial_id, "status": str(trial.status), **point}
    metrics = {name: trial.metrics.get_last_value(name) for name in trial.metrics.metrics}
    for name, value in (metrics or record.get("metrics") or {}).items():
        row.setdefault(name, None if value is None else float(value))
    row["seconds"] = record.get("seconds")
    row["error"] = (record.get("error") or error_of(trial)) if row["status"] != "COMPLETED" else None
    return row


def row_of_record(record: dict) -> dict:
    """The row of a trial from its record alone (a worker's own trials)."""
    row = {"trial": record.get("trial"), "status": "FAILED" if record.get("error") else "COMPLETED"}
    row.update(record.get("point") or {})
    for name, value in (record.get("metrics") or {}).items():
        row.setdefault(name, value)
    row.update(seconds=record.get("seconds"), error=record.get("error"))
    return row


def best_row(rows: list, objective: str):
    """The best of sorted rows, or None when no trial completed."""
    if rows and rows[0]["status"] == "COMPLETED" and rows[0].get(objective) is not None:
        return rows[0]
    return None


def sort_rows(rows: list, objective: str, direction: str) -> list:
    """Completed trials by the objective, the best first; then the others by trial id."""

    def key(row):
        value = row.get(objective)
        done = row["status"] == "COMPLETED" and isinstance(value, (int, float)) and math.isfinite(value)
        if not done:
            return (1, 0.0, row["trial"])
        return (0, -value if direction == "max" else value, row["trial"])

    return sorted(rows, key=key)


def columns(rows: list, names: tuple, objective: str) -> list:
    """The column order: trial, status, the hyperparameters, the objective, the other metrics
    (in the order first seen), seconds, error."""
    out = [*FIRST, *names, objective]
    for row in rows:
        for key in row:
            if key not in out and key not in LAST:
                out.append(key)
    return out + list(LAST)


def write_results(out_dir: str, rows: list, names: tuple, about: dict) -> list:
    """results.json (`about` and the rows) and results.csv, each written atomically; their paths."""
    objective = about["objective"]["name"]
    json_path = os.path.join(out_dir, "results.json")
    write_atomic(json_path, json.dumps({**about, "trials": rows}, indent=2, default=str) + "\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns(rows, names, objective), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})
    csv_path = os.path.join(out_dir, "results.csv")
    write_atomic(csv_path, buffer.getvalue())
    return [json_path, csv_path]


def _cell(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def show(value) -> str:
    """A value as the progress lines and the table show it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(rows: list, names: tuple, objective: str, limit: int = 60) -> str:
    """The rows as a terminal table: trial, each hyperparameter, the objective, seconds, status
    (with a failed trial's error after it)."""
    head = ["trial", *names, objective, "seconds", "status"]
    body = []
    for row in rows:
        seconds = row.get("seconds")
        status = row["status"].lower()
        if row.get("error"):
            error = row["error"] if len(row["error"]) <= limit else row["error"][: limit - 3] + "..."
            status = f"{status}: {error}"
        body.append(
            [
                str(row["trial"]),
                *(show(row.get(name, "")) for name in names),
                show(row[objective]) if row.get(objective) is not None else "-",
                f"{seconds:.1f}" if isinstance(seconds, (int, float)) else "-",
                status,
            ]
        )
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head) - 1)]
    lines = []
    for line in [head, *body]:
        cells = [cell.ljust(width) for cell, width in zip(line, widths)]
        lines.append("  ".join([*cells, line[-1]]).rstrip())
    return "\n".join(lines)
