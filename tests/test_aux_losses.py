"""`add_loss`: loss terms computed from named tensors (a VAE's KL divergence, activity penalties),
with Keras's add_loss semantics, stage by stage: the statement in both parsers and `fmt`, its
checks (names, dtypes, `if` branches, the styles that can hold it), the generated models against
hand-written Keras ones, Keras's own fit and `.keras` files, and the tfspec runtime, which trains
the terms and logs each under its name."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import tfspec
from tfspec.backends import allowed_styles, generate

from .helpers import quiet_tensorflow

PENALTY = """\
model Penalised {
    input x: float32[6]
    x -> Dense(4, activation="tanh") -> h
    penalty = 0.01 * sum(square(h), axis=1)  # one value per sample: averaged over the batch
    add_loss penalty
    h -> Dense(2) -> y
    output y
}

train {
    optimizer = Adam(learning_rate=0.01)
    loss      = mse
    epochs    = 4
    batch     = 16
}
"""

# A VAE-like model of plain layers and operations: the code is the mean (no sampling), the KL
# term pulls it towards N(0, 1) while the reconstruction is trained by the loss.
VAE = """\
model TinyVAE {
    input x: float32[8]
    x -> Dense(16, activation="relu") -> h
    h -> Dense(2) -> z_mean
    h -> Dense(2) -> z_log_var
    z_mean -> Dense(16, activation="relu") -> Dense(8) -> recon
    kl = -0.5 * sum(1 + z_log_var - square(z_mean) - exp(z_log_var), axis=1)
    add_loss kl
    output recon
}

train {
    optimizer  = Adam(learning_rate=0.01)
    loss       = mse
    epochs     = 6
    batch      = 32
    validation = 0.25
}
"""

# A block whose term is added only when its weight is positive: used three times, twice with a term.
BLOCKS = """\
block Penalised(units, weight=0.0) {
    input x
    x -> Dense(units, activation="tanh") -> y
    if weight > 0 {
        penalty = weight * mean(square(y), axis=1)
        add_loss penalty
    }
    output y
}

model Stack {
    input x: float32[5]
    x -> Penalised(4, weight=0.5) -> a
    a -> Penalised(3) -> b
    b -> Penalised(2, weight=0.25) -> y
    output y
}

train {
    optimizer = Adam(learning_rate=0.01)
    loss      = mse
    epochs    = 3
    batch     = 16
}
"""


def diagnostics(text: str) -> list:
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(text)
    return info.value.diagnostics


def found(text: str) -> list:
    """(code, line, column) of each diagnostic."""
    return [(d.code, d.span.line, d.span.column) for d in diagnostics(text)]


def model(*lines: str, train: str = "") -> str:
    body = "\n".join("    " + line for line in ("input x: float32[4]", *lines))
    return f"model M {{\n{body}\n}}\n" + (f"\ntrain {{\n{train}}}\n" if train else "")


# -- the statement: parsers, normalised JSON, fmt ------------------------------------------------


def test_add_loss_names_tensors_of_its_body_and_is_normalised_last_among_its_keys():
    from tfspec.frontend.normalise import normalise
    from tfspec.frontend.parser import parse

    text = model("x -> Dense(3) -> h", "a = mean(h, axis=1)", "b = sum(h, axis=1)", "add_loss a, b", "output h")
    spec, spans = normalise(parse(text, "t.tfs"), "t.tfs", text)
    body = spec["model"]["body"]
    assert list(body) == ["inputs", "layers", "chains", "assigns", "ifs", "outputs", "losses"]
    assert body["losses"] == ["a", "b"]
    a, b = spans[("model", "body", "losses", 0)], spans[("model", "body", "losses", 1)]
    assert (a.line, a.column, b.column) == (6, 14, 17)
    assert "losses" not in tfspec.loads(model("x -> Dense(3) -> h", "output h")).spec["model"]["body"]


def test_both_parsers_agree_on_the_statement_everywhere_it_may_stand():
    from .test_parser import assert_fast_agrees

    texts = [
        BLOCKS,
        PENALTY,
        VAE,
        "model M { input x: [4] add_loss x add_loss x, y,z output x }",
        "model M { if c { add_loss a } else if d { add_loss b, c } else { add_loss d } }",
        "block B() { input x add_loss x output x } model M { add_loss q }",
        "model M { x -> D() -> add_loss x = add_loss }",  # a name after `->` and `=`: no keyword there
    ]
    for text in texts:
        assert assert_fast_agrees(text) == "same", text
    # where Lark's shared states may read a keyword, the fast parser leaves the text to Lark
    for text in ["train { epochs = 1 add_loss = 2 }", "model M { add_loss }", "model M { add_loss 0.5 * x }"]:
        assert assert_fast_agrees(text) in ("same", "unsure"), text


def test_fmt_lays_the_statement_out_and_keeps_its_meaning():
    from tfspec.tools.fmt import format_text

    messy = "model M {\n  input x: float32[4]\n  x -> Dense(3) -> h\n  p = mean(h, axis=1)\n  q = sum(h, axis=1)\n"
    messy += "  add_loss   p ,h  # both\n  if True {add_loss q}\n  output h\n}\n"
    tidy = format_text(messy)
    assert "    add_loss p, h  # both\n" in tidy and "    if True {\n        add_loss q\n    }\n" in tidy
    assert format_text(tidy) == tidy
    assert tfspec.loads(tidy).spec == tfspec.loads(messy).spec


def test_add_loss_is_a_keyword_of_the_language():
    assert ("E307", 3, 22) in found(model("x -> Dense(3) -> add_loss", "output add_loss"))
    with pytest.raises(tfspec.SpecError) as info:  # a statement cannot start from it
        tfspec.loads(model("x -> Dense(3) -> h", "add_loss -> Dense(2) -> y", "output y"))
    assert info.value.diagnostics[0].code == "E100"


def test_the_highlighter_knows_the_keyword():
    pytest.importorskip("pygments")
    from pygments.token import Keyword

    from tfspec.tools.lexer import TfspecLexer

    kinds = {value: kind for _, kind, value in TfspecLexer().get_tokens_unprocessed("add_loss kl")}
    assert kinds["add_loss"] in Keyword


def test_an_expression_after_add_loss_is_a_syntax_error_with_a_hint():
    d = diagnostics(model("x -> Dense(3) -> h", "add_loss 0.5 * mean(h, axis=1)", "output h"))[0]
    assert (d.code, d.span.line, d.span.column) == ("E100", 4, 14)
    assert "add_loss" in d.hint and "kl = " in d.hint


# -- checks ------------------------------------------------------------------------------------


def test_each_term_is_a_float_tensor_of_its_body():
    text = """\
block B(n) {
    input x
    x -> Dense(n) -> y
    add_loss z
    add_loss n
    output y
}
model M {
    input x: float32[4]
    layer d = Dense(3)
    x -> d -> h
    h -> B(2) -> y
    c = x.shape[-1]
    add_loss hh, d, c
    loss = mean(h, axis=1)
    add_loss loss
    p = mean(h, axis=1)
    add_loss p, p
    output y
}
"""
    got = {(d.code, d.span.line, d.span.column): d for d in diagnostics(text)}
    assert set(got) == {
        ("E301", 4, 14),  # not defined
        ("E410", 5, 14),  # a block parameter: a value
        ("E301", 14, 14),  # hh: did you mean h?
        ("E301", 14, 18),  # a layer
        ("E410", 14, 21),  # a value computed from a shape
        ("E311", 16, 14),  # logged as the loss
        ("E302", 18, 17),  # added twice
    }
    assert got[("E301", 14, 14)].hint == "did you mean 'h'?"
    assert got[("E301", 14, 18)].hint == "add_loss names a tensor, not a layer"


def test_a_term_must_hold_floats():
    text = model("input k: int32[4]", "x -> Dense(3) -> h", "big = h > 0.5", "add_loss k, big", "output h")
    got = diagnostics(text)
    assert [(d.code, d.span.line, d.span.column) for d in got] == [("E310", 6, 14), ("E310", 6, 17)]
    assert "int32" in got[0].message and "bool" in got[1].message and "cast(k" in got[0].hint
    tfspec.loads(model("x -> Dense(3) -> h", 'big = cast(h > 0.5, "float32")', "add_loss big", "output h"))


def test_a_term_made_in_a_branch_that_is_not_chosen_is_refused_where_it_is_added():
    text = """\
block B(n) {
    input x
    x -> Dense(n) -> y
    if n > 2 {
        t = mean(y, axis=1)
    }
    add_loss t
    output y
}
model M {
    input x: float32[4]
    x -> B(2) -> y
    output y
}
"""
    d = diagnostics(text)[0]
    assert (d.code, d.span.line, d.span.column) == ("E301", 7, 14)
    assert "not made when 2 > 2 is false" in d.message and "block B used at line 12" in d.message
    tfspec.loads(text.replace("B(2)", "B(3)"))


def test_a_term_inside_an_if_is_added_only_when_its_branch_is_chosen():
    spec = tfspec.loads(BLOCKS)
    assert spec.model.losses == []
    bodies = [layer.body for layer in spec.model.layers]
    assert [[t.name for t in body.losses] for body in bodies] == [["penalty"], [], ["penalty"]]
    assert tfspec.summary(spec).loss_terms == ("penalty",)


def test_a_term_may_not_take_the_name_of_another_logged_value():
    train = "    loss    = mse\n    metrics = [mae]\n    validation = 0.1\n"
    for name in ("mae", "val_mae", "val_loss", "val_penalty"):
        lines = ["x -> Dense(3) -> h", f"{name} = mean(h, axis=1)", f"add_loss {name}"]
        if name == "val_penalty":
            lines += ["penalty = sum(h, axis=1)", "add_loss penalty"]
        assert ("E311", 5, 14) in found(model(*lines, "output h", train=train)), name
    for name in ("lr", "epoch"):
        assert ("E311", 5, 14) in found(model("x -> Dense(3) -> h", f"{name} = mean(h, axis=1)", f"add_loss {name}"))
    two = model("x -> Dense(3) -> a", "x -> Dense(2) -> b", "a_loss = sum(a, axis=1)", "add_loss a_loss")
    assert ("E311", 6, 14) in found(two.replace("}\n", "    output a, b\n}\n") + "\ntrain {\n    loss = mse\n}\n")


def test_a_sequential_model_cannot_add_a_term_and_says_where():
    text = """\
block Pen(n) {
    input x
    x -> Dense(n) -> y
    p = 0.01 * sum(square(y), axis=1)
    add_loss p
    output y
}
model M {
    input x: float32[4]
    x -> Dense(3) -> Pen(2) -> y
    output y
}
"""
    spec = tfspec.loads(text)
    assert allowed_styles(spec) == ["functional", "subclassing"]
    with pytest.raises(tfspec.SpecError) as info:
        generate(spec, "sequential")
    d = info.value.diagnostics[0]
    assert (d.code, d.span.line, d.span.column) == ("E701", 5, 14) and "add_loss p" in d.message


def test_the_graph_picture_draws_each_term():
    from tfspec.tools.graph import to_dot

    text = to_dot(tfspec.loads(BLOCKS))
    assert text.count('[label="add_loss penalty\\nmean of (None,)"') == 2
    assert '"penalised/operation" -> "penalised/add_loss penalty";' in text


# -- the generated models in Keras --------------------------------------------------------------


@pytest.fixture(scope="module")
def keras():
    quiet_tensorflow()
    return pytest.importorskip("keras")


def built(text: str, style: str):
    from tfspec.live import build

    return build(tfspec.loads(text), style)


def hand_written_penalised(keras):
    """PENALTY as one writes it in Keras: the term added in call()."""

    class Penalised(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(4, activation="tanh")
            self.out = keras.layers.Dense(2)

        def call(self, x):
            h = self.hidden(x)
            self.add_loss(keras.ops.mean(0.01 * keras.ops.sum(keras.ops.square(h), axis=1)))
            return self.out(h)

    model = Penalised()
    model(keras.ops.zeros((1, 6)))
    return model


@pytest.mark.parametrize("style", ["functional", "subclassing"])
def test_the_model_adds_exactly_the_mean_of_the_term(keras, style):
    model = built(PENALTY, style)
    reference = hand_written_penalised(keras)
    reference.set_weights(model.get_weights())  # the same Dense layers, in the same order
    x = np.random.default_rng(0).normal(size=(10, 6)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(reference(x)), rtol=1e-6)
    assert len(model.losses) == 1
    np.testing.assert_allclose(float(model.losses[0]), float(reference.losses[0]), rtol=1e-6)
    h = np.tanh(x @ model.get_weights()[0] + model.get_weights()[1])
    assert math.isclose(float(model.losses[0]), float(np.mean(0.01 * np.sum(h**2, axis=1))), rel_tol=1e-5)
    assert model.count_params() == tfspec.summary(tfspec.loads(PENALTY)).total_params == 6 * 4 + 4 + 4 * 2 + 2


@pytest.mark.parametrize("style", ["functional", "subclassing"])
def test_keras_own_fit_and_evaluate_include_the_term(keras, style):
    model = built(PENALTY, style)
    x = np.random.default_rng(1).normal(size=(32, 6)).astype("float32")
    y = np.random.default_rng(2).normal(size=(32, 2)).astype("float32")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    mse = float(np.mean((np.asarray(model(x)) - y) ** 2))
    term = float(model.losses[0])
    assert term > 1e-4
    history = model.fit(x, y, batch_size=32, epochs=1, verbose=0).history
    assert math.isclose(history["loss"][0], mse + term, rel_tol=1e-5)
    assert math.isclose(model.evaluate(x, y, batch_size=32, verbose=0), mse + term, rel_tol=1e-5)


@pytest.mark.parametrize("style", ["functional", "subclassing"])
def test_a_block_adds_its_term_once_per_use_whose_branch_holds(keras, style):
    from tfspec.runtime.steps import loss_terms

    model = built(BLOCKS, style)
    x = np.random.default_rng(3).normal(size=(7, 5)).astype("float32")
    model(x)
    assert len(model.losses) == 2  # the use with weight 0 adds nothing
    layers = loss_terms(model)["penalty"]
    assert sum(len(layer.losses) for layer in layers) == 2


def test_functional_and_subclassing_agree_and_copy_weights_through_the_terms(keras):
    from tfspec.weights import copy_weights

    for text in (VAE, BLOCKS):
        spec = tfspec.loads(text)
        functional, subclassing = built(text, "functional"), built(text, "subclassing")
        copy_weights(spec, functional, "functional", subclassing, "subclassing")  # z_log_var's Dense too
        x = np.random.default_rng(4).normal(size=(6, spec.model.inputs[0].shape[0])).astype("float32")
        np.testing.assert_allclose(np.asarray(functional(x)), np.asarray(subclassing(x)), rtol=1e-6)
        np.testing.assert_allclose(
            sorted(float(v) for v in functional.losses), sorted(float(v) for v in subclassing.losses), rtol=1e-6
        )
        copy_weights(spec, subclassing, "subclassing", functional, "functional")


def test_a_block_s_term_stays_in_the_model_when_its_caller_uses_another_output(keras):
    """A functional model leaves out the layers no output depends on: the term's layer takes every
    output a block's helper returns, so the term counts whichever of them the caller uses."""
    from tfspec.weights import copy_weights

    text = """\
block Two(n) {
    input x
    x -> Dense(n) -> a
    x -> Dense(n) -> b
    t = mean(square(a), axis=1)
    add_loss t
    output a, b
}
model M {
    input x: float32[4]
    _, y = Two(3)(x)
    output y
}
"""
    spec = tfspec.loads(text)
    x = np.ones((2, 4), dtype="float32")
    functional, subclassing = built(text, "functional"), built(text, "subclassing")
    assert functional.count_params() == subclassing.count_params() == tfspec.summary(spec).total_params == 30
    copy_weights(spec, functional, "functional", subclassing, "subclassing")
    np.testing.assert_allclose(np.asarray(functional(x)), np.asarray(subclassing(x)), rtol=1e-6)
    assert len(functional.losses) == len(subclassing.losses) == 1
    np.testing.assert_allclose(float(functional.losses[0]), float(subclassing.losses[0]), rtol=1e-6)


def test_the_term_layer_passes_masks_on(keras):
    text = """\
block Encode() {
    input x
    x -> Dense(4) -> y
    size = 0.1 * mean(square(y), axis=-1)
    add_loss size
    output y
}
model Masked {
    input tokens: int32[6]
    tokens -> Embedding(20, 4, mask_zero=True) -> Encode() -> LSTM(3) -> y
    output y
}
"""
    from tfspec.weights import copy_weights

    plain = text.replace("    add_loss size\n", "").replace("    size = 0.1 * mean(square(y), axis=-1)\n", "")
    tokens = np.array([[3, 4, 0, 0, 0, 0], [5, 6, 7, 8, 9, 1]], dtype="int32")
    for style in ("functional", "subclassing"):
        with_term, without = built(text, style), built(plain, style)
        unmasked = built(plain.replace("mask_zero=True", "mask_zero=False"), style)
        copy_weights(tfspec.loads(text), with_term, style, without, style)
        copy_weights(tfspec.loads(plain), without, style, unmasked, style)
        # padded steps are skipped by the LSTM only when the mask reaches it through the term's layer
        np.testing.assert_allclose(np.asarray(with_term(tokens)), np.asarray(without(tokens)), rtol=1e-6)
        assert not np.allclose(np.asarray(unmasked(tokens))[0], np.asarray(without(tokens))[0])
        assert len(with_term.losses) == 1 and len(without.losses) == 0


def test_a_functional_model_with_a_term_round_trips_through_a_keras_file(keras, tmp_path):
    from tfspec.runtime.steps import loss_terms

    model = built(VAE, "functional")
    x = np.random.default_rng(5).normal(size=(4, 8)).astype("float32")
    path = tmp_path / "vae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6)
    np.testing.assert_allclose(float(loaded.losses[0]), float(model.losses[0]), rtol=1e-6)
    assert list(loss_terms(loaded)) == ["kl"]


def test_two_specs_with_terms_live_in_one_process(keras, tmp_path):
    from tfspec.runtime.steps import loss_terms

    first, second = built(VAE, "functional"), built(PENALTY, "functional")
    names = {
        keras.saving.get_registered_name(type(layer))
        for model in (first, second)
        for layers in loss_terms(model).values()
        for layer in layers
    }
    assert names == {"tfspec.TinyVAE>AddLoss", "tfspec.Penalised>AddLoss"}
    for model, term, width in ((first, "kl", 8), (second, "penalty", 6)):
        path = tmp_path / f"{term}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        x = np.ones((2, width), dtype="float32")
        np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6)
        assert list(loss_terms(loaded)) == [term]


# -- the tfspec runtime --------------------------------------------------------------------------


def data(width: int, outputs: int, n: int = 256, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, width)).astype("float32")
    y = np.tanh(x[:, :outputs] * 0.7).astype("float32") if outputs != width else x
    return x, y


@pytest.mark.parametrize("style", ["functional", "subclassing"])
def test_the_runtime_trains_a_vae_like_model_and_logs_its_term(keras, style, tmp_path):
    import io

    x, _ = data(8, 8)
    progress = io.StringIO()
    spec = tfspec.loads(VAE)
    result = tfspec.train(spec, style=style, data=(x, x), seed=3, out_dir=str(tmp_path), quiet=False, stream=progress)
    history = result.history
    last = [line for line in progress.getvalue().splitlines() if line.startswith("epoch 6/6")][0]
    assert f"  kl {history['kl'][-1]:.4f}  " in last and f"  val_kl {history['val_kl'][-1]:.4f}" in last
    assert list(history) == ["loss", "kl", "val_loss", "val_kl", "lr"]
    assert history["loss"][-1] < history["loss"][0] and history["val_loss"][-1] < history["val_loss"][0]
    assert all(k >= 0 for k in history["kl"])  # a KL divergence
    assert all(loss > kl for loss, kl in zip(history["loss"], history["kl"]))
    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved["kl"] == history["kl"] and saved["val_kl"] == history["val_kl"]
    assert (tmp_path / "history.csv").read_text().splitlines()[0] == "epoch,kl,loss,lr,val_kl,val_loss"


def test_the_logged_term_is_what_the_model_adds(keras):
    """With no update (SGD, learning rate 0) and one batch, the logged term is the model's own."""
    from tfspec.runtime import train_model

    x, y = data(6, 2, n=40)
    model = built(PENALTY, "functional")
    training = dict(tfspec.loads(PENALTY).training, optimizer={"class_name": "SGD", "config": {"learning_rate": 0.0}})
    result = train_model(model, training, {"train": (x, y), "validation": (x, y)}, quiet=True, batch_size=40, epochs=1)
    model(x)
    term = float(model.losses[0])
    mse = float(np.mean((np.asarray(model(x)) - y) ** 2))
    assert math.isclose(result.history["penalty"][0], term, rel_tol=1e-5)
    assert math.isclose(result.history["val_penalty"][0], term, rel_tol=1e-5)
    assert math.isclose(result.history["loss"][0], mse + term, rel_tol=1e-5)


@pytest.mark.parametrize("style", ["functional", "subclassing"])
def test_the_runtime_trains_an_activity_penalty_and_sums_a_blocks_terms(keras, style):
    for text, width, outputs in ((PENALTY, 6, 2), (BLOCKS, 5, 2)):
        x, y = data(width, outputs, seed=1)
        result = tfspec.train(tfspec.loads(text), style=style, data=(x, y), seed=2)
        history = result.history
        assert list(history) == ["loss", "penalty", "lr"]
        assert history["loss"][-1] < history["loss"][0]
        assert history["penalty"][-1] > 0
    # BLOCKS: both uses with a weight add to the one logged `penalty`
    model = result.model
    model(x)
    assert len(model.losses) == 2


def test_terms_survive_a_resume(keras, tmp_path):
    x, _ = data(8, 8, n=128)
    spec = tfspec.loads(VAE)
    tfspec.train(spec, data=(x, x), seed=5, epochs=2, out_dir=str(tmp_path))
    resumed = tfspec.train(spec, data=(x, x), seed=5, epochs=3, out_dir=str(tmp_path), resume=True)
    assert len(resumed.history["kl"]) == len(resumed.history["val_kl"]) == 3


@pytest.mark.slow
def test_terms_on_two_replicas_match_one_device(keras):
    """MirroredStrategy on two logical CPUs (in a child process, which sets them up before any op):
    each replica's terms are divided by the replica count, as the added losses are."""
    import subprocess
    import sys

    from .test_runtime_support import ROOT, env, finish

    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.test_aux_losses", "mirrored"],
        cwd=ROOT,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = finish(proc, timeout=240)
    result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
    single = result["history"]["single"]
    assert single["penalty"][0] > 0
    for mode in ("mirrored", "mirrored_jit"):
        assert result["max_diff"][mode] < 1e-5, (mode, result)
        for key in ("loss", "penalty"):
            np.testing.assert_allclose(result["history"][mode][key], single[key], rtol=1e-5)


def role_mirrored():
    import tensorflow as tf

    from tfspec.live import build
    from tfspec.runtime import train_model

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    spec = tfspec.loads(BLOCKS)  # two uses of a block add to one term
    x, y = data(5, 2, n=75, seed=6)  # the last global batch of 11 is split 6/5
    weights, histories = {}, {}
    for mode, distribute, jit in (
        ("single", None, False),
        ("mirrored", "mirrored", False),
        ("mirrored_jit", "mirrored", True),
    ):
        opts = dict(spec.training, epochs=2, batch_size=16, seed=1, distribute=distribute, jit_compile=jit)
        opts["optimizer"] = {"class_name": "SGD", "config": {"learning_rate": 0.5}}
        result = train_model(None, opts, {"train": (x, y)}, model_fn=lambda: build(spec, "functional"), quiet=True)
        weights[mode], histories[mode] = result.model.get_weights(), result.history
    diff = {
        mode: max(float(np.max(np.abs(a - b))) for a, b in zip(weights[mode], weights["single"]))
        for mode in ("mirrored", "mirrored_jit")
    }
    print("RESULT " + json.dumps({"max_diff": diff, "history": histories}))


def test_the_runtime_refuses_a_term_logged_like_a_metric():
    from tfspec.runtime.errors import SettingsError
    from tfspec.runtime.session import check_term_names

    check_term_names(["kl"], ["y"], ["mae"])
    for terms, outputs, metrics in (
        (["mae"], ["y"], ["mae"]),
        (["val_mae"], ["y"], ["mae"]),
        (["a_loss"], ["a", "b"], []),
        (["lr"], ["y"], []),
        (["val_kl", "kl"], ["y"], []),
    ):
        with pytest.raises(SettingsError):
            check_term_names(terms, outputs, metrics)


@pytest.mark.parametrize("name", ["AddLoss", "self", "keras", "layers", "training", "config", "term", "build_model"])
def test_a_term_may_bear_any_name_generated_code_uses(keras, name):
    block = name if name != "build_model" else "Other"
    text = f"""\
block {block}(n) {{
    input x
    x -> Dense(n) -> y
    {name} = mean(square(y), axis=1)
    add_loss {name}
    output y
}}
model M {{
    input x: float32[3]
    x -> {block}(2) -> y
    {name} = mean(y, axis=1)
    add_loss {name}
    output y
}}
"""
    x = np.ones((2, 3), dtype="float32")
    for style in ("functional", "subclassing"):
        model = built(text, style)
        model(x)
        assert len(model.losses) == 2, style


if __name__ == "__main__":
    import sys

    quiet_tensorflow()
    {"mirrored": role_mirrored}[sys.argv[1]]()


def test_a_layer_named_like_the_term_layer_does_not_clash(keras):
    """Keras names the AddLoss layers add_loss, add_loss_1, ... from a counter: build_model()
    moves the counter past the names the spec gives, as for every automatic name."""
    text = model(
        'x -> Dense(2, name="add_loss") -> h',
        "p = mean(square(h), axis=1)",
        "add_loss p",
        'h -> Dense(2, name="add_loss_1") -> y',
        "output y",
    )
    for _ in range(2):  # the second model meets names the first one took from the counter
        names = [layer.name for layer in built(text, "functional").layers]
        assert names[:3] == ["x", "add_loss", "add_loss_1"] and len(set(names)) == len(names) == 4
