"""The trust campaign: what a run folder, a spec or the data someone sent can make tfspec do.

    python -m tests.trust            # prints the counts as JSON (part of `make faults`)

- run folders: every file of a real run is rewritten with code that leaves a marker file, then
  `evaluate` and every `export` format run on it as subprocesses; what they do read (manifest,
  spec, weights) is altered in turn. Counted: commands run, markers written, clean errors.
- paths: hostile paths in every callback that writes, through `check` and through the runtime
  (symbolic links out of the run folder too). Counted: refused, files written outside the run.
- blow-up: the adversarial specs of tests/test_scaling.py (doubling blocks, deep nesting,
  growing arguments, 1 MiB texts) through `tfspec check`. Counted: answers, the slowest one.

tests/test_run_folder.py, tests/test_paths.py and tests/test_scaling.py assert the same things
case by case; this module runs them as a campaign and prints the figures the README quotes.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from .test_runtime_support import ROOT, env

HOSTILE_PATHS = [
    "/abs/victim.txt",
    "../../x.csv",
    "logs/../../x",
    "~/x.csv",
    "C:\\x.csv",
    "..\\x.csv",
    "",
    ".",
    "a\nb.csv",
]
CALLBACKS = {
    "CSVLogger": "filename",
    "TensorBoard": "log_dir",
    "ModelCheckpoint": "filepath",
}
TEMPLATES = ["m-{epoch:/>20}.keras", "m-{loss.__class__}.keras", "m-{0}.keras", "m-{epoch!r}.keras"]


def tfspec_cli(*argv, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    """The `tfspec` command as people run it. (Not `python -m tfspec` from inside a hostile
    folder: Python itself puts the working directory first on sys.path for -m, so a tfspec.py
    there is imported before tfspec can do anything; `python -P -m` or the command avoid it.)"""
    command = os.path.join(os.path.dirname(sys.executable), "tfspec")
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # an empty entry in it is the cwd
    return subprocess.run(
        [command, *argv] if os.path.exists(command) else [sys.executable, "-P", "-m", "tfspec", *argv],
        cwd=cwd or ROOT,
        env=dict(clean, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES=""),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_clean_line(done: subprocess.CompletedProcess) -> bool:
    """Exit 1, no traceback, and tfspec's error as one line, the last (TensorFlow may log a line
    of its own at import, whatever its log level says)."""
    ours = [line for line in done.stderr.splitlines() if line.startswith("tfspec: ")]
    return (
        done.returncode == 1
        and "Traceback" not in done.stderr
        and len(ours) == 1
        and done.stderr.strip().splitlines()[-1] == ours[0]
        and ours[0].startswith("tfspec: error: ")
    )


# -- run folders ------------------------------------------------------------------------------------
def run_folders(tmp: str) -> dict:
    from pathlib import Path

    from tfspec.training import train_run

    from .test_run_folder import FORMATS, tamper_unread_files

    trained = Path(tmp) / "trained"
    train_run(os.path.join(ROOT, "specs", "digits_mlp.tfs"), style="subclassing", out_dir=str(trained), epochs=1)
    marker = Path(tmp) / "MARKER"
    folder = Path(tmp) / "tampered"
    shutil.copytree(trained, folder)
    tamper_unread_files(folder, marker)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    stats = {"files_in_run": len(files), "commands_on_tampered_run": 0, "succeeded": 0, "markers_written": 0}

    def commands(run):
        yield ["evaluate", str(run)]
        for fmt, name in FORMATS.items():
            yield ["export", str(run), "--format", fmt, "-o", str(Path(tmp) / "out" / name)]

    for argv in commands(folder):
        stats["commands_on_tampered_run"] += 1
        stats["succeeded"] += tfspec_cli(*argv, cwd=str(folder)).returncode == 0
    # what evaluate/export do read, altered one way at a time: a one-line error each
    alterations = {
        "spec edited": lambda r: (r / "spec.tfs").write_text((r / "spec.tfs").read_text() + "\n# edited\n"),
        "spec removed": lambda r: (r / "spec.tfs").unlink(),
        "manifest removed": lambda r: (r / "manifest.json").unlink(),
        "manifest not JSON": lambda r: (r / "manifest.json").write_text("{"),
        "manifest style": lambda r: edit_manifest(r, style="__import__('os')"),
        "manifest digest": lambda r: edit_manifest(r, spec_sha256="0" * 64),
        "weights garbage": lambda r: (r / "model.weights.h5").write_bytes(b"\x89HDF\r\n" + b"\0" * 64),
        "weights removed": lambda r: (r / "model.weights.h5").unlink(),
        "spec is a link out": lambda r: relink(r / "spec.tfs", "/etc/hostname"),
    }
    stats.update(alterations=len(alterations), altered_commands=0, one_line_errors=0)
    for i, alter in enumerate(alterations.values()):
        run = Path(tmp) / f"altered{i}"
        shutil.copytree(trained, run)
        alter(run)
        for argv in commands(run):
            stats["altered_commands"] += 1
            done = tfspec_cli(*argv)
            if one_clean_line(done):
                stats["one_line_errors"] += 1
            else:
                stats.setdefault("not_one_line", []).append([argv[0], list(alterations)[i], done.stderr[-600:]])
    stats["markers_written"] = int(marker.exists())
    return stats


def edit_manifest(run, **changes) -> None:
    path = run / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def relink(path, target) -> None:
    path.unlink()
    path.symlink_to(target)


# -- paths ------------------------------------------------------------------------------------------
def paths(tmp: str) -> dict:
    import tfspec
    from tfspec.runtime import TrainingError, train_model

    from .test_paths import SPEC
    from .test_runtime_support import digits, mlp, training

    stats = {"check_cases": 0, "check_refused_E603": 0, "runtime_cases": 0, "runtime_refused": 0, "written_outside": 0}
    for name, arg in CALLBACKS.items():
        for path in HOSTILE_PATHS + (TEMPLATES if name == "ModelCheckpoint" else []):
            stats["check_cases"] += 1
            try:
                tfspec.loads(SPEC.format(callback=f"{name}({arg}={json.dumps(path)})"), filename="p.tfs")
            except tfspec.SpecError as exc:
                stats["check_refused_E603"] += any(d.code == "E603" for d in exc.diagnostics)
    x, y = digits(200)
    root = os.path.join(tmp, "paths")
    outside = os.path.join(root, "outside")
    os.makedirs(outside)
    for name, arg in CALLBACKS.items():
        for path in [os.path.join(outside, "victim"), "../../x", "../escape", "link/file"]:
            stats["runtime_cases"] += 1
            run = os.path.join(root, "runs", f"{name}{stats['runtime_cases']}")
            os.makedirs(run)
            os.symlink(outside, os.path.join(run, "link"))  # a link out of the run folder
            if name == "ModelCheckpoint":
                path += ".keras"
            callback = {"class_name": name, "config": {arg: path}}
            try:
                train_model(mlp(), training(epochs=1, callbacks=[callback]), (x, y), out_dir=run, quiet=True)
            except TrainingError:
                stats["runtime_refused"] += 1
    runs = os.path.join(root, "runs")
    stats["written_outside"] = (
        sum(len(files) + len(dirs) for folder, dirs, files in os.walk(root) if not folder.startswith(runs)) - 2
    )  # root holds runs/ and outside/
    return stats


# -- blow-up ----------------------------------------------------------------------------------------
def blowup(tmp: str) -> dict:
    from .test_scaling import ADVERSARIAL

    stats = {"specs": 0, "answered": 0, "tracebacks": 0, "largest_bytes": 0, "slowest_cpu_s": 0.0, "cpu_s": {}}
    for name, (make, status, _) in ADVERSARIAL.items():
        text = make()
        path = os.path.join(tmp, f"{name}.tfs")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [sys.executable, "-m", "tfspec", "check", path], env=env(), capture_output=True, text=True, timeout=120
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        stats["specs"] += 1
        stats["answered"] += done.returncode == status
        stats["tracebacks"] += "Traceback" in done.stderr
        stats["largest_bytes"] = max(stats["largest_bytes"], len(text.encode("utf-8")))
        stats["cpu_s"][name] = round(cpu, 2)
    stats["slowest_cpu_s"] = max(stats["cpu_s"].values())
    return stats


def main() -> None:
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        out = {
            "blowup": blowup(tmp),
            "paths": paths(tmp),
            "run_folders": run_folders(tmp),
            "seconds": 0,
        }
    out["seconds"] = round(time.time() - start, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
