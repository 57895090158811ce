"""`tfspec tune` / tfspec.tune: KerasTuner searches a spec's search section, the runtime trains
each trial. Tiny models on the bundled digits, one epoch a trial, a few trials."""

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout

import pytest

from tests.helpers import ROOT, quiet_tensorflow

quiet_tensorflow()
pytest.importorskip("tensorflow")
pytest.importorskip("keras_tuner")

import tfspec  # noqa: E402
from tfspec.cli import main  # noqa: E402
from tfspec.search.tune import TuneError, choose_objective, direction_of, prepare_folder  # noqa: E402

pytestmark = pytest.mark.slow

SPEC = """\
# a tiny digits MLP to tune
search {
    units = choice(8, 16, 32)   # the width
    lr    = float(1e-3, 1e-2, log=true)
}

model Tiny {
    input image: float32[8, 8]
    image -> Flatten() -> Dense(units, activation="relu") -> Dense(10, activation="softmax") -> probs
    output probs
}

train {
    optimizer  = Adam(learning_rate=lr)
    loss       = SparseCategoricalCrossentropy()
    metrics    = [accuracy]
    epochs     = 1
    batch      = 64
    validation = 0.2
    seed       = 1
    data       = digits
}
"""


def write(tmp_path, text=SPEC, name="tiny.tfs"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def trial_lines(stream: io.StringIO) -> list:
    return [line for line in stream.getvalue().splitlines() if line.startswith("trial ")]


def test_the_objective_by_default_and_its_direction(tmp_path):
    spec = tfspec.load(write(tmp_path))
    assert choose_objective(spec, None) == ("val_accuracy", "max")
    assert choose_objective(spec, "val_loss") == ("val_loss", "min")
    no_validation = tfspec.load(write(tmp_path, SPEC.replace("    validation = 0.2\n", ""), "b.tfs"))
    assert choose_objective(no_validation, None) == ("loss", "min")
    assert choose_objective(no_validation, None, settings={"validation_split": 0.1})[0] == "val_accuracy"
    with pytest.raises(TuneError, match="no validation.*it can be one of: loss, accuracy"):
        choose_objective(no_validation, "val_accuracy")
    no_accuracy = tfspec.load(write(tmp_path, SPEC.replace("    metrics    = [accuracy]\n", ""), "c.tfs"))
    assert choose_objective(no_accuracy, None) == ("val_loss", "min")
    assert [direction_of(n) for n in ("val_auc", "precision", "mae", "val_sparse_categorical_accuracy")] == [
        "max",
        "max",
        "min",
        "max",
    ]


def test_a_search_writes_its_results_and_the_best_spec(tmp_path):
    out = str(tmp_path / "out")
    stream = io.StringIO()
    result = tfspec.tune(write(tmp_path), trials=3, out_dir=out, seed=3, stream=stream)
    lines = trial_lines(stream)
    assert len(lines) == 3 and all("val_accuracy" in line and line.endswith(" s") for line in lines)
    assert lines[0].startswith("trial 0 [1/3]  units=")
    assert [row["status"] for row in result.rows] == ["COMPLETED"] * 3
    scores = [row["val_accuracy"] for row in result.rows]
    assert scores == sorted(scores, reverse=True)
    assert set(result.rows[0]) >= {"trial", "status", "units", "lr", "val_accuracy", "loss", "seconds", "error"}

    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["objective"] == {"name": "val_accuracy", "direction": "max"}
    assert [row["trial"] for row in saved["trials"]] == [row["trial"] for row in result.rows]
    assert saved["best"]["point"] == result.best_point
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "results.csv").read_text())))
    assert list(rows[0])[:5] == ["trial", "status", "units", "lr", "val_accuracy"]
    assert list(rows[0])[-2:] == ["seconds", "error"]
    assert [row["trial"] for row in rows] == [row["trial"] for row in result.rows]

    best_path = os.path.join(out, "best.tfs")
    assert open(best_path).read() == result.best_text
    assert "# val_accuracy = " in result.best_text and "search {" not in result.best_text.replace("# search {", "")
    best = tfspec.load(best_path)
    assert best.space is None and best.training["optimizer"]["config"]["learning_rate"] == result.best_point["lr"]
    assert result.best_spec.training == best.training
    trained = tfspec.train(best, epochs=1)
    assert len(trained.history["loss"]) == 1

    first = result.rows[0]["trial"]  # each trial's run folder holds the spec at its point
    run_spec = tfspec.load(os.path.join(out, "trials", first, "spec.tfs"))
    assert run_spec.space is None


def test_a_folder_holds_a_search_once_it_has_a_manifest_an_oracle_or_a_trial(tmp_path):
    spec = tfspec.load(write(tmp_path))
    out = tmp_path / "out"
    (out / "keras_tuner").mkdir(parents=True)  # what a worker started before its chief makes
    assert prepare_folder(str(out), spec, "random", None, False, None) is None
    for made in ("keras_tuner/oracle.json", "keras_tuner/trial_0", "search.json"):
        (out / made).touch()
        with pytest.raises(TuneError, match="already holds a search"):
            prepare_folder(str(out), spec, "random", None, False, None)
        (out / made).unlink()


def test_resume_runs_only_the_trials_left(tmp_path):
    path, out = write(tmp_path), str(tmp_path / "out")
    first = tfspec.tune(path, trials=2, out_dir=out, seed=5, stream=io.StringIO())
    assert len(first.rows) == 2
    records = {
        row["trial"]: os.path.getmtime(os.path.join(out, "trials", f"{row['trial']}.json")) for row in first.rows
    }
    with pytest.raises(TuneError, match="already holds a search.*--resume"):
        tfspec.tune(path, trials=4, out_dir=out, seed=5)
    other = write(tmp_path, SPEC.replace("choice(8, 16, 32)", "choice(8, 16, 64)"), "other.tfs")
    with pytest.raises(TuneError, match="another spec"):
        tfspec.tune(other, trials=4, out_dir=out, resume=True)

    stream = io.StringIO()
    second = tfspec.tune(path, trials=4, out_dir=out, seed=5, resume=True, stream=stream)
    assert "2 trials done, 2 to go" in stream.getvalue()
    assert [line.split("  ")[0] for line in trial_lines(stream)] == ["trial 2 [3/4]", "trial 3 [4/4]"]
    assert len(second.rows) == 4 and {row["status"] for row in second.rows} == {"COMPLETED"}
    for trial, when in records.items():  # the first two were not run again
        assert os.path.getmtime(os.path.join(out, "trials", f"{trial}.json")) == when


def test_an_interrupted_trial_runs_again_on_resume(tmp_path, monkeypatch):
    from tfspec.search import tune as tuning

    path, out = write(tmp_path), str(tmp_path / "out")
    run = tuning.Search.run

    def interrupted(self, trial_id, values):
        if trial_id == "1":
            raise KeyboardInterrupt
        return run(self, trial_id, values)

    monkeypatch.setattr(tuning.Search, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tfspec.tune(path, trials=2, out_dir=out, seed=6)
    monkeypatch.setattr(tuning.Search, "run", run)
    stream = io.StringIO()
    result = tfspec.tune(path, trials=2, out_dir=out, seed=6, resume=True, stream=stream)
    assert "1 trial done, 1 to go" in stream.getvalue()
    assert [line.split("  ")[0] for line in trial_lines(stream)] == ["trial 1 [2/2]"]
    assert sorted(row["trial"] for row in result.rows) == ["0", "1"]


def test_a_failed_trial_is_recorded_and_the_search_goes_on(tmp_path):
    text = SPEC.replace("choice(8, 16, 32)", "choice(8)").replace("float(1e-3, 1e-2, log=true)", "choice(0.01, 1e30)")
    out = str(tmp_path / "out")
    stream = io.StringIO()
    result = tfspec.tune(write(tmp_path, text), trials=2, out_dir=out, stream=stream)
    assert [row["status"] for row in result.rows] == ["COMPLETED", "FAILED"]
    failed = result.rows[1]
    assert failed["lr"] == 1e30 and failed.get("val_accuracy") is None
    assert "nan" in failed["error"] or "non-finite" in failed["error"]
    assert "\n" not in failed["error"] and "Traceback" not in stream.getvalue()
    assert any("failed: " in line for line in trial_lines(stream))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "results.csv").read_text())))
    assert rows[-1]["status"] == "FAILED" and rows[-1]["error"] == failed["error"]
    assert result.best_point == {"units": 8, "lr": 0.01}


def test_hyperband_trains_the_epochs_it_gives(tmp_path):
    out = str(tmp_path / "out")
    result = tfspec.tune(write(tmp_path), trials=4, algorithm="hyperband", epochs=3, out_dir=out, seed=3)
    assert {row["status"] for row in result.rows} == {"COMPLETED"}
    epochs = [json.loads(open(os.path.join(out, "trials", f"{r['trial']}.json")).read())["epochs"] for r in result.rows]
    assert all(1 <= e <= 3 for e in epochs)


def test_bayesian_optimisation_searches_the_space(tmp_path):
    pytest.importorskip("sklearn")
    out = str(tmp_path / "out")
    result = tfspec.tune(write(tmp_path), trials=3, algorithm="bayesian", out_dir=out, seed=5)
    assert [row["status"] for row in result.rows] == ["COMPLETED"] * 3
    assert all(row["units"] in (8, 16, 32) and 1e-3 <= row["lr"] <= 1e-2 for row in result.rows)
    assert len({(row["units"], row["lr"]) for row in result.rows}) == 3  # three points, not one thrice


def run_cli(*args):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_the_command_line(tmp_path):
    path, out = write(tmp_path), str(tmp_path / "out")
    code, stdout, stderr = run_cli("tune", path, "--trials", "1", "--out", out, "--seed", "2")
    assert code == 0, stderr
    assert stdout.splitlines()[0].split() == ["trial", "units", "lr", "val_accuracy", "seconds", "status"]
    assert "completed" in stdout and "best.tfs" in stdout
    assert stderr.startswith("trial 0 [1/1]  units=")

    code, _, stderr = run_cli("tune", path, "--out", out)
    assert code == 2 and "already holds a search" in stderr
    code, _, stderr = run_cli("tune", path, "--objective", "val_auc", "--out", str(tmp_path / "o2"))
    assert code == 2 and "it can be one of: loss, accuracy, val_loss, val_accuracy" in stderr
    plain = write(tmp_path, SPEC.split("}\n\n", 1)[1].replace("units", "8").replace("=lr", "=0.01"), "p.tfs")
    code, _, stderr = run_cli("tune", plain)
    assert code == 2 and "no search section" in stderr and "tfspec train" in stderr and "Traceback" not in stderr


def test_without_keras_tuner_the_command_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "keras_tuner", None)  # `import keras_tuner` fails as if it were missing
    code, _, stderr = run_cli("tune", write(tmp_path), "--out", str(tmp_path / "out"))
    assert code == 2 and stderr.strip() == "tfspec: error: tfspec tune needs KerasTuner: pip install 'tfspec[tune]'"
    assert not os.path.exists(tmp_path / "out")


def stacks(procs) -> str:
    """Ask the processes still running to print their Python stacks (PYTHONFAULTHANDLER)."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGABRT)
            proc.wait()
    return "(their stacks are at the end of their stderr)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_chief_and_a_worker(tmp_path):
    """Two processes on this machine. The worker starts first and makes KerasTuner's project
    folder before the chief looks at it (the chief once refused that folder as "already holding a
    search", and the worker then waited for it forever). Output goes to files, not pipes (which
    fill up unread); a process still running at the timeout is made to print its stacks."""
    pytest.importorskip("grpc")
    path, out = write(tmp_path), str(tmp_path / "out")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}  # loopback: no proxy
    env.update(KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(free_port()), PYTHONFAULTHANDLER="1")
    command = [sys.executable, "-m", "tfspec", "tune", path, "--trials", "2", "--out", out, "--seed", "4"]
    procs, logs = {}, {}

    def start(who):
        logs[who] = (tmp_path / f"{who}.out", tmp_path / f"{who}.err")
        with open(logs[who][0], "w") as stdout, open(logs[who][1], "w") as stderr:
            procs[who] = subprocess.Popen(
                command, env={**env, "KERASTUNER_TUNER_ID": who}, cwd=ROOT, stdout=stdout, stderr=stderr
            )

    def said(who):
        return tuple(log.read_text() for log in logs[who])

    try:
        start("tuner0")
        deadline = time.monotonic() + 120
        while "running trials for the search served at" not in said("tuner0")[1]:
            assert procs["tuner0"].poll() is None and time.monotonic() < deadline, said("tuner0")
            time.sleep(0.2)
        assert os.path.isdir(os.path.join(out, "keras_tuner"))  # what the chief used to refuse
        start("chief")
        for who, seconds in (("tuner0", 300), ("chief", 120)):
            try:
                procs[who].wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{who} still running after {seconds} s: {stacks(procs)} {said('tuner0')} {said('chief')}")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    outputs = {who: said(who) for who in procs}
    for who, proc in procs.items():
        assert proc.returncode == 0, (who, outputs[who])
    assert "serving the search at 127.0.0.1" in outputs["chief"][1]
    assert len([line for line in outputs["tuner0"][1].splitlines() if line.startswith("trial ")]) == 2
    saved = json.loads(open(os.path.join(out, "results.json")).read())
    assert [row["status"] for row in saved["trials"]] == ["COMPLETED", "COMPLETED"]
    assert all(row["seconds"] for row in saved["trials"])
    assert tfspec.load(os.path.join(out, "best.tfs")).space is None
