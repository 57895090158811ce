"""Training curves (curves.svg in a run folder) and `tfspec graph RUN_FOLDER`.

The SVG is checked as XML (panels, dashed validation lines, escaped names, NaN handling), and a
real short training run must write it with one point per epoch it really trained, rewrite it on
resume, and print where it is. `tfspec graph RUN` must draw the stored spec with the run's final
metrics (the values the training returned) without importing TensorFlow.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from . import test_no_tensorflow as no_tf
from .helpers import ROOT, quiet_tensorflow

quiet_tensorflow()
np = pytest.importorskip("numpy")
pytest.importorskip("tensorflow")

import tfspec  # noqa: E402
from tfspec.runtime import curves  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"
TINY = """
model Tiny {
    input x: float32[4]
    x -> Dense(3, activation="softmax") -> y
    output y
}

train {
    optimizer = Adam(learning_rate=1e-2)
    loss      = SparseCategoricalCrossentropy()
    metrics   = [accuracy]
    epochs    = 3
    batch     = 16
    seed      = 1
}
"""


def parse(text: str):
    return ET.fromstring(text.encode("utf-8"))


def panels(root) -> list:
    return [g for g in root.iter(SVG + "g") if g.get("class") == "panel"]


def panel_title(panel) -> str:
    return panel.find(SVG + "title").text


def paths(panel, kind) -> list:
    return [p for p in panel.iter(SVG + "path") if p.get("class") == kind]


HISTORY = {
    "loss": [1.0, 0.6, 0.4],
    "accuracy": [0.3, 0.6, 0.8],
    "kl": [3.0, 2.0, 1.5],
    "val_loss": [1.1, 0.7, 0.5],
    "val_accuracy": [0.2, 0.5, 0.7],
    "lr": [0.01, 0.01, 0.005],
}


def test_one_panel_per_quantity_loss_first_validation_dashed():
    root = parse(curves.render(HISTORY))
    found = panels(root)
    assert [panel_title(p) for p in found] == ["loss", "accuracy", "kl", "lr"]
    loss = found[0]
    (train,) = paths(loss, "training")
    (val,) = paths(loss, "validation")
    assert train.get("stroke-dasharray") is None and val.get("stroke-dasharray")
    assert train.get("stroke") != val.get("stroke")
    assert paths(found[2], "validation") == []  # kl has no val_kl
    assert train.get("d").count("L") == 2  # three epochs, three points
    texts = [t.text for t in root.iter(SVG + "text")]
    assert "epoch" in texts and "training" in texts and "validation (val_*)" in texts
    assert {"1", "2", "3"} <= set(texts)  # x ticks


def test_lower_values_are_drawn_lower():
    root = parse(curves.render({"loss": [4.0, 1.0]}))
    d = paths(panels(root)[0], "training")[0].get("d")
    (x1, y1), (x2, y2) = (map(float, p.split(",")) for p in d[1:].split("L"))
    assert x1 < x2 and y2 > y1  # SVG y grows downwards


def test_the_same_history_gives_the_same_bytes():
    assert curves.render(HISTORY) == curves.render(json.loads(json.dumps(HISTORY)))
    assert curves.render(HISTORY) != curves.render({**HISTORY, "loss": [1.0, 0.6, 0.41]})


def test_hostile_names_stay_text():
    name = '<script>alert("x")</script>&amp;\x00'
    text = curves.render({"loss": [1.0, 2.0], name: [1.0, 2.0]}, title="<b>model</b>")
    root = parse(text)
    assert not [e for e in root.iter() if e.tag.endswith("script") or e.tag.endswith("b")]
    assert "<script>" not in text
    titles = [panel_title(p) for p in panels(root)]
    assert titles[1] == '<script>alert("x")</script>&amp;\ufffd'
    assert any(t.text == "<b>model</b>" for t in root.iter(SVG + "text"))


def test_nan_and_inf_stop_the_line_with_a_marker():
    history = {"loss": [1.0, math.nan, 0.5, 0.4], "val_loss": [None, 1.0, math.inf, -math.inf]}
    root = parse(curves.render(history))
    loss = panels(root)[0]
    assert [p.get("d").count("M") for p in paths(loss, "training")] == [1, 1]  # two pieces
    stops = paths(loss, "stop")
    words = sorted(p.find(SVG + "title").text for p in stops)
    assert words == [
        "training epoch 2: nan",
        "validation epoch 1: nan",
        "validation epoch 3: inf",
        "validation epoch 4: -inf",
    ]
    for p in root.iter(SVG + "path"):
        assert "nan" not in p.get("d").lower() and "inf" not in p.get("d").lower()


@pytest.mark.parametrize(
    "history",
    [
        {"loss": [0.3]},
        {"loss": [1e300, -1e300, 1.7e308, -1.7e308]},
        {"loss": [-5.0, -5.0]},
        {"loss": [math.nan, math.nan]},
        {},
        {f"m{i}": list(range(3)) for i in range(200)},
    ],
)
def test_edge_cases_give_valid_svg_with_finite_coordinates(history):
    text = curves.render(history)
    root = parse(text)
    for element in root.iter():
        for key in ("x", "y", "x1", "y1", "x2", "y2", "cx", "cy"):
            if element.get(key) is not None:
                assert math.isfinite(float(element.get(key)))
    if len(history) == 200:
        assert len(panels(root)) == curves.MAX_PANELS
        assert "and 140 more quantities" in text
    if history == {"loss": [0.3]}:
        assert len(list(panels(root)[0].iter(SVG + "circle"))) == 1  # one epoch: one point


# ---- a real run --------------------------------------------------------------------------------


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 1] > 1).astype("int64")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("curves")
    spec_file = base / "tiny.tfs"
    spec_file.write_text(TINY)
    folder = base / "run"
    stream = io.StringIO()
    split = {"train": data(), "validation": data(32, 1)}
    result = tfspec.train(str(spec_file), data=split, out_dir=str(folder), quiet=False, stream=stream)
    return folder, result, stream.getvalue(), str(spec_file), split


def test_a_training_run_writes_curves_and_prints_where(trained):
    folder, result, printed, _, _ = trained
    path = folder / curves.FILE
    assert f"curves: {path}" in printed
    root = parse(path.read_text())
    found = panels(root)
    assert [panel_title(p) for p in found][0] == "loss"
    assert {"loss", "accuracy", "lr"} <= {panel_title(p) for p in found}
    loss = found[0]
    assert len(result.history["loss"]) == 3
    assert paths(loss, "training")[0].get("d").count("L") == 2
    assert paths(loss, "validation")  # the run had a validation split
    history = json.loads((folder / "history.json").read_text())
    assert path.read_text() == curves.render(history, "training curves: Tiny")


def test_resume_draws_every_epoch_again(trained):
    folder, _, _, spec_file, split = trained
    stream = io.StringIO()
    result = tfspec.train(spec_file, data=split, out_dir=str(folder), resume=True, epochs=5, quiet=False, stream=stream)
    assert result.epochs == 5
    root = parse((folder / curves.FILE).read_text())
    assert paths(panels(root)[0], "training")[0].get("d").count("L") == 4
    assert f"curves: {folder / curves.FILE}" in stream.getvalue()


def test_graph_of_a_run_shows_its_final_metrics_without_tensorflow(trained, tmp_path):
    folder, result, _, _, _ = trained
    history = json.loads((folder / "history.json").read_text())
    out = tmp_path / "run.dot"
    names = no_tf.imported_by("graph", str(folder), "-o", str(out))
    assert "tfspec.runs" in names and no_tf.heavy(names) == []  # the run folder was opened
    dot = out.read_text()
    title = next(line for line in dot.splitlines() if line.startswith("    label="))
    assert f"loss {history['loss'][-1]:.4g}  (val {history['val_loss'][-1]:.4g})" in title
    assert f"accuracy {history['accuracy'][-1]:.4g}" in title
    assert f"after {len(history['loss'])} epochs" in title
    assert f"{result.model.count_params()} params" in dot  # the Dense layer's real count (4*3+3)


def test_graph_of_a_broken_run_is_a_one_line_error(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "tfspec", "graph", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=no_tf.env(),
    )
    assert done.returncode == 1
    assert done.stderr.startswith("tfspec: error:") and "Traceback" not in done.stderr
    assert "not a finished training run" in done.stderr


def test_graph_of_a_run_with_a_damaged_history(trained, tmp_path):
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(trained[0], folder)
    (folder / "history.json").write_text("[1, 2")
    done = subprocess.run(
        [sys.executable, "-m", "tfspec", "graph", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=no_tf.env(),
    )
    assert done.returncode == 1 and "history.json" in done.stderr and "Traceback" not in done.stderr
    os.remove(folder / "history.json")
    done = subprocess.run(
        [sys.executable, "-m", "tfspec", "graph", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=no_tf.env(),
    )
    assert done.returncode == 0 and "no history.json" in done.stdout
