"""Generated code is always valid Python, and always builds.

Spec names reach generated code as attribute, class, function, parameter and variable
names. Whatever the names, every accepted spec must give, in every style it allows, a
module that parses and whose build_model() makes a Keras model. Two checks:

- a hand-written corpus: hostile names (`_1`, `_`, `self`, `super`, `call`, `keras`,
  `training`, `mask`, ...) in every position (block, block parameter, layer, tensor, input,
  output, model), alone and clashing with each other;
- a property test over random legal models whose names are drawn from the same corpus
  (tests/fuzz.py: `naming_campaign`; `make fuzz` runs a longer campaign).

Language v2 adds positions (assignment targets, several results, block-time values and the
parameters conditions read, a block's several outputs) and names that must stay Python's
own in generated code (`max`, `int`, ...): a corpus of them, and random v2 models named from
it (tests/fuzz.py: `v2_campaign`).
"""

from __future__ import annotations

import ast
import random

import pytest

import tfspec
from tfspec.backends import allowed_styles
from tfspec.backends.emitter import python_name

from . import fuzz

# The names seen to break generated code, or likely to (tests/fuzz.py): each must work everywhere.
HOSTILE = fuzz.HOSTILE_NAMES
# Names check refuses (E307): they never reach a printer.
REFUSED = ["__x", "__init__", "__class__", "class", "lambda"]


def templates(n: str) -> dict:
    """Specs that put the name `n` in each position."""
    return {
        # a block named like its own parameter, used twice (layer ids `n`, `n_1`), inside a block
        # whose parameter has the block's name too (it must not hide the class), in a model of the
        # same name (two classes, one spec name)
        "block": f"""
block {n}({n}=2) {{
    input i
    i -> Dense({n}) -> o
    output o
}}
block Outer(k, {n}=3) {{
    input i
    i -> {n}({n}) -> {n}(k) -> o
    output o
}}
model {n} {{
    input a: [4]
    a -> {n}(3) -> {n}({n}=2) -> Outer(4) -> Outer(2, {n}=5) -> b
    output b
}}
""",
        # block parameters by position, by keyword and defaulted
        "parameter": f"""
block Blk({n}, k=2) {{
    input x
    x -> Dense({n}) -> Dense(k) -> y
    output y
}}
model M {{
    input a: [4]
    a -> Blk({n}=3) -> Blk(2, k=3) -> Blk(4) -> b
    output b
}}
""",
        # tensors: a block's input, output and intermediate, a model's input
        "tensor": f"""
block In(k) {{
    input {n}
    {n} -> Dense(k) -> h
    output h
}}
block Out(k) {{
    input i
    i -> Dense(k) -> {n}
    output {n}
}}
block Mid(k) {{
    input i
    i -> Dense(k) -> {n}
    {n} -> Dense(k) -> o
    output o
}}
model M {{
    input {n}: [4]
    {n} -> In(3) -> Out(3) -> Mid(2) -> t
    output t
}}
""",
        # several inputs and outputs, a merge, an intermediate model tensor
        "inputs": f"""
model M {{
    input {n}: [4]
    input other: [4]
    [{n}, other] -> Concatenate() -> joined
    joined -> Dense(3) -> out
    other -> Dense(2) -> side
    output out, side
}}
""",
        "outputs": f"""
model M {{
    input a: [4]
    a -> Dense(3) -> {n}
    {n} -> Dense(2) -> out
    output {n}, out
}}
""",
        # a shared layer (applied twice: functional and subclassing only)
        "layer": f"""
model M {{
    input a: [4]
    layer {n} = Dense(4)
    a -> {n} -> b
    b -> Dropout(0.1) -> {n} -> c
    output c
}}
""",
        # a block of several inputs named `n` and `inputs`-like names
        "block_inputs": f"""
block Two(k) {{
    input {n}
    input second
    [{n}, second] -> Add() -> s
    s -> Dense(k) -> o
    output o
}}
model M {{
    input a: [4]
    input b: [4]
    [a, b] -> Two(3) -> c
    output c
}}
""",
    }


CASES = [(n, what) for n in HOSTILE for what in templates(n)]

# Names that clash with each other and with the names tfspec makes up (`_` used twice gives
# the ids `_` and `_1`; `_1` becomes the attribute `layer_1`).
CLASHES = [
    """
block _(k) {
    input _1
    _1 -> Dense(k) -> layer_1
    output layer_1
}
model _ {
    input _9: [4]
    layer _1 = Dense(4)
    layer layer_1 = Dense(4)
    _9 -> _(2) -> _(3) -> Dense(4) -> _1 -> layer_1 -> _1 -> v_
    output v_
}
""",
    """
block self(super=2) {
    input training
    training -> Dense(super) -> inputs
    output inputs
}
block keras(layers=1, mask=2) {
    input kwargs
    kwargs -> self(layers) -> self(mask) -> config
    output config
}
model build_model {
    input call: [4]
    input get_config: [4]
    layer compute_mask = Dense(4)
    [call, get_config] -> Add() -> compute_mask -> keras(mask=3) -> keras(2, 3) -> cls
    get_config -> compute_mask -> name
    output cls, name
}
""",
    """
block M(M=1) {
    input M_
    M_ -> Dense(M) -> v_M
    output v_M
}
block M_(M=2) {
    input x
    x -> M(M) -> M(2) -> y
    output y
}
model M {
    input x: [4]
    x -> M_(3) -> M_(M=2) -> M(M=4) -> M_
    output M_
}
""",
]


def check_source(source: str, style: str) -> None:
    tree = ast.parse(source)  # raises SyntaxError on anything that is not Python
    compile(source, f"<{style}>", "exec")
    names = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]
    names += [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)]
    names += [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    names += [a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args + n.kwonlyargs]
    for name in names:
        assert name.isidentifier() and name.isascii(), name
        # a generated name is never name-mangled, and no layer attribute is private
        assert not name.startswith("__") or (name.startswith("__") and name.endswith("__")), name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            assert not node.attr.startswith("_"), node.attr
        if isinstance(node, ast.ClassDef):
            # Keras names a layer after its class; TensorFlow refuses a name scope starting "_"
            assert not node.name.startswith("_"), node.name
        if isinstance(node, ast.arguments):
            args = [a.arg for a in node.args + node.kwonlyargs]
            assert len(args) == len(set(args)), args


def load(text: str):
    return tfspec.loads(text, "hostile.tfs")


@pytest.mark.parametrize("name,what", CASES, ids=[f"{n}-{w}" for n, w in CASES])
def test_hostile_name_generates_python_in_every_style(name, what):
    spec = load(templates(name)[what])
    styles = allowed_styles(spec)
    assert styles
    for style in styles:
        check_source(tfspec.generate(spec, style), style)


@pytest.mark.parametrize("text", CLASHES, ids=[f"clash{i}" for i in range(len(CLASHES))])
def test_clashing_names_generate_python_in_every_style(text):
    spec = load(text)
    for style in allowed_styles(spec):
        check_source(tfspec.generate(spec, style), style)


@pytest.mark.parametrize("name", REFUSED)
def test_reserved_names_are_refused_with_a_position(name):
    for what, text in templates(name).items():
        with pytest.raises(tfspec.SpecError) as info:
            load(text)
        d = info.value.diagnostics[0]
        assert d.code in ("E307", "E100"), (what, d)  # keywords may not even parse
        assert d.line >= 2 and d.column >= 1, (what, d)


def test_python_name_always_gives_a_usable_identifier():
    taken = {"_", "x", "x_", "layer", "v_"}
    for wanted in ["_1", "_", "__x", "x", "class", "a-b", "1x", "é", "__"]:
        for public in (False, True):
            name = python_name(wanted, taken, public=public)
            assert name.isidentifier() and name.isascii() and name not in taken, (wanted, name)
            assert not name.startswith("_" if public else "__"), (wanted, name)
    assert python_name("_1", set(), public=True) == "v_1"
    assert python_name("x", {"x"}) == "x_" and python_name("x", {"x", "x_"}) == "x_2"
    assert python_name("dense", {"dense"}, suffix="_layer") == "dense_layer"


# -- with Keras -------------------------------------------------------------------------------


def built(spec, style):
    import keras

    from tfspec.live import load_module

    keras.backend.clear_session()
    model = load_module(tfspec.generate(spec, style), f"hostile_{style}").build_model()
    assert isinstance(model, keras.Model), type(model)
    return model


# Built in Keras (a few seconds each; all of the corpus is parsed above): the names of the
# issue in every position, and the others where they name classes, parameters and attributes.
BUILT = [(n, what) for n in ("_1", "_") for what in templates(n)]
BUILT += [(n, "block") for n in ("self", "super", "call", "get_config", "keras", "training", "inputs", "mask")]


@pytest.mark.parametrize("name,what", BUILT, ids=[f"{n}-{w}" for n, w in BUILT])
def test_hostile_names_build_in_keras(name, what):
    pytest.importorskip("keras")
    spec = load(templates(name)[what])
    for style in allowed_styles(spec):
        model = built(spec, style)
        assert model.count_params() == tfspec.summary(spec).total_params, style


@pytest.mark.parametrize("text", CLASHES, ids=[f"clash{i}" for i in range(len(CLASHES))])
def test_clashing_names_build_in_keras(text, tmp_path):
    """...with the same outputs in every style once the weights are copied (layers are found
    by their generated attribute names), and saved and loaded back (classes by their names)."""
    import numpy as np

    spec = load(text)
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(2, *i.shape)).astype("float32") for i in spec.model.inputs]
    outputs_agree(spec, x[0] if len(x) == 1 else x, 1e-6, tmp_path, saved=("subclassing",))


# -- masked models ------------------------------------------------------------------------
# Where masks are carried explicitly (every masked subclassed model; a functional model whose
# MultiHeadAttention takes a masked tensor), the printers add names of their own: `<tensor>_mask`
# variables, a helper's keyword-only mask parameters, a block class's `mask` argument, the list
# of masks it unpacks, and `keras.ops` calls. None may hide or overwrite a spec name.

MASKED_HOSTILE = ["_", "mask", "x_mask", "training", "inputs", "keras", "self", "e_mask", "v_", "_1", "x_"]


def masked_templates(n: str) -> dict:
    """Masked models that put the name `n` where the mask code names things."""
    return {
        # a block input named `n`: masked (a helper's mask parameter, a block class's `mask`) and,
        # first of two inputs, unmasked (the masks Keras passes as a list are unpacked); a model
        # tensor named `n` holding a mask
        "input": f"""
block Att(k) {{
    input {n}
    [{n}, {n}] -> MultiHeadAttention(num_heads=2, key_dim=k) -> a
    [{n}, a] -> Add() -> y
    output y
}}
block Pair(k) {{
    input {n}
    input second
    [second, second] -> MultiHeadAttention(num_heads=2, key_dim=k) -> a
    [second, a] -> Add() -> s
    [{n}, s] -> Concatenate() -> c
    c -> Dense(8) -> y
    output y
}}
model M {{
    input tokens: int32[None]
    tokens -> Embedding(30, 8, mask_zero=True) -> {n}
    tokens -> Embedding(30, 8) -> plain
    {n} -> Att(4) * 2 -> h
    [plain, h] -> Pair(4) -> p
    p -> GlobalAveragePooling1D() -> out
    output out
}}
""",
        # a block parameter named `n`, a mask made in a block (returned by the helper, asked of
        # the block class), the block's input named `n` too
        "parameter": f"""
block Embed({n}=30) {{
    input t
    t -> Embedding({n}, 8, mask_zero=True) -> e
    output e
}}
block Att({n}, k=4) {{
    input x
    [x, x] -> MultiHeadAttention(num_heads={n}, key_dim=k) -> a
    [x, a] -> Add() -> y
    output y
}}
block Tail(k) {{
    input {n}
    {n} -> GRU(k, return_sequences=True) -> y
    output y
}}
model M {{
    input tokens: int32[None]
    tokens -> Embed(30) -> Att(2) -> Att({n}=1) -> Tail(3) -> GlobalAveragePooling1D() -> out
    output out
}}
""",
    }


MASKED_CLASHES = [
    # a tensor `e_mask` next to `e` (whose mask variable wants that name), inputs `x` and `x_mask`
    # of one block, tensors named `mask`, `training` and `_`
    """
block Two(k) {
    input x
    input x_mask
    [x, x_mask] -> MultiHeadAttention(num_heads=2, key_dim=k) -> a
    [x, a] -> Add() -> y
    output y
}
model M {
    input tokens: int32[None]
    tokens -> Embedding(30, 8, mask_zero=True) -> e
    e -> Dense(8) -> e_mask
    [e_mask, e] -> MultiHeadAttention(num_heads=2, key_dim=4) -> mask
    [e, mask] -> Add() -> training
    [training, e_mask] -> Two(4) -> x_mask
    x_mask -> GlobalAveragePooling1D() -> _
    output _
}
""",
    # every input of a block named like the printers' own names, all masked (one list unpacked)
    """
block Three(k) {
    input mask
    input _
    input x_mask
    [mask, _, x_mask] -> MultiHeadAttention(num_heads=2, key_dim=k) -> a
    [_, a] -> Add() -> s
    [s, mask] -> Attention() -> y
    output y
}
model M {
    input a: int32[None]
    layer embed = Embedding(30, 8, mask_zero=True)
    a -> embed -> _
    a -> Embedding(30, 8, mask_zero=True) -> Dense(8) -> mask
    _ -> Dense(8) -> training
    [mask, _, training] -> Three(4) -> inputs
    inputs -> LSTM(3) -> out
    output out
}
""",
]
MASKED_CASES = [(n, what) for n in MASKED_HOSTILE for what in masked_templates(n)]


@pytest.mark.parametrize("name,what", MASKED_CASES, ids=[f"{n}-{w}" for n, w in MASKED_CASES])
def test_hostile_names_in_masked_models_generate_python(name, what):
    spec = load(masked_templates(name)[what])
    styles = allowed_styles(spec)
    assert "functional" in styles and "subclassing" in styles
    for style in styles:
        source = tfspec.generate(spec, style)
        check_source(source, style)
        assert "keras.ops.expand_dims" in source, style  # the masks are carried


def padded_tokens(spec):
    """Token ids for every input of `spec`, the first row padded after three steps."""
    import numpy as np

    x = np.random.default_rng(0).integers(1, 30, size=(2, 5)).astype("int32")
    x[0, 3:] = 0
    return x if len(spec.model.inputs) == 1 else [x] * len(spec.model.inputs)


def outputs_agree(spec, x, tol, tmp_path=None, saved=("functional", "subclassing")):
    """Built in every style, the weights copied: parameter counts equal the summary and outputs
    on `x` equal the functional model's within `tol`; with `tmp_path`, the `saved` styles also
    go through a .keras file and give the same outputs when loaded back."""
    keras = pytest.importorskip("keras")
    import numpy as np

    from tfspec.weights import copy_weights

    models = {style: built(spec, style) for style in allowed_styles(spec)}
    assert {"functional", "subclassing"} <= set(models)

    def outputs(model):
        got = model(x, training=False)
        return [np.asarray(t) for t in (got if isinstance(got, (list, tuple)) else [got])]

    reference = outputs(models["functional"])
    for style, model in models.items():
        assert model.count_params() == tfspec.summary(spec).total_params, style
        copy_weights(spec, models["functional"], "functional", model, style)
        for a, b in zip(outputs(model), reference, strict=True):
            assert np.max(np.abs(a - b)) <= tol, style
    if tmp_path is not None:
        for style in saved:
            models[style].save(tmp_path / f"{style}.keras")
            loaded = keras.saving.load_model(tmp_path / f"{style}.keras")
            for a, b in zip(outputs(loaded), reference, strict=True):
                assert np.max(np.abs(a - b)) <= tol, style


MASKED_BUILT = [(n, what) for n in ("_", "mask", "x_mask", "training", "keras") for what in masked_templates(n)]


@pytest.mark.parametrize("name,what", MASKED_BUILT, ids=[f"{n}-{w}" for n, w in MASKED_BUILT])
def test_hostile_names_in_masked_models_build_in_keras(name, what):
    spec = load(masked_templates(name)[what])
    outputs_agree(spec, padded_tokens(spec), 1e-5)


@pytest.mark.parametrize("text", MASKED_CLASHES, ids=[f"masked_clash{i}" for i in range(len(MASKED_CLASHES))])
def test_masked_clashing_names_build_in_keras(text, tmp_path):
    spec = load(text)
    for style in allowed_styles(spec):
        check_source(tfspec.generate(spec, style), style)
    outputs_agree(spec, padded_tokens(spec), 1e-5, tmp_path)


# -- the property, over the fuzzers' accepted specs ------------------------------------------


def test_random_hostile_models_generate_python():
    """Many random models, parsed in every style (no Keras: fast)."""
    counts = fuzz.naming_campaign(400, seed=21, build=False)
    assert counts["accepted"] >= 300, counts
    assert counts["broken"] == 0, counts["failures"]


def test_random_hostile_models_build_in_keras():
    """A bounded number of them built in Keras in every style (`make fuzz` runs more)."""
    pytest.importorskip("keras")
    counts = fuzz.naming_campaign(12, seed=8)
    assert counts["accepted"] >= 8 and counts["modules"] >= 16, counts
    assert counts["broken"] == 0, counts["failures"]


def test_mutated_and_random_specs_generate_python():
    """What the other fuzzers accept (mutated example specs, random layer stacks) also
    generates valid Python in every style: fuzz.outcome checks every spec that loads."""
    counts = fuzz.mutation_campaign(300, seed=5)
    assert counts["loaded"] > 20, counts
    rng = random.Random(2)
    for i in range(40):
        fuzz.outcome(fuzz.random_model(rng, i))


# -- language v2: names in the new positions ----------------------------------------------
# Assignment targets, several results (`-> a, b` too), block-time values and the parameters
# conditions read, a block's several outputs, a declared layer applied with call arguments.
# Besides the hostile names, Python's builtins: the block-time builtins (`max`, `int`, ...)
# are printed as Python's own, so a spec name must never hide them.

# (`_` is left out: in v2 a target `_` discards its result)
V2_HOSTILE = [n for n in HOSTILE if n != "_"] + [
    "max",
    "min",
    "abs",
    "int",
    "float",
    "round",
    "len",
    "shape",
    "mean",
    "cast",
    "positions",
]


def v2_templates(n: str) -> dict:
    """v2 specs that put the name `n` in each new position."""
    return {
        "assign": f"""
model M {{
    input x: [3, 4]
    {n} = x * 2 + -x[:, :, 0:1]
    y = relu({n}) - mean({n}, axis=-1, keepdims=True)
    output y
}}
""",
        "results": f"""
model M {{
    input x: [3, 4]
    out, {n}, _ = LSTM(4, return_state=True)(x)
    x -> GRU(4, return_state=True) -> seq, h
    x -> LSTM(4)(initial_state=[{n}, h]) -> res
    output out, seq, res
}}
""",
        "static": f"""
block B(k) {{
    input a
    {n} = a.shape[-1] * k
    m = max(2, int({n} / 2))
    a -> Dense({n}) -> Dense(m) -> b
    output b
}}
model M {{
    input x: [4]
    {n} = x.shape[-1] + 1
    x -> Dense({n}) -> B(2) -> y
    output y
}}
""",
        "condition": f"""
block B({n}, k=1) {{
    input a
    if {n} > 1 and not k == 2 {{
        a -> Dense(3) -> b
    }} else {{
        b = a * {n}
    }}
    output b
}}
model M {{
    input x: [3]
    x -> B(2) -> B({n}=1, k=2) -> y
    output y
}}
""",
        "outputs": f"""
block Two(k) {{
    input a
    input b
    s = a + b
    s -> Dense(k) -> {n}
    d = -s
    output {n}, d
}}
model M {{
    input x: [4]
    input y: [4]
    {n}, d = Two(2)(x, y)
    [x, y] -> Two(3) -> e, f
    output {n}, d, e, f
}}
""",
        "layer": f"""
model M {{
    input x: [3, 4]
    layer {n} = LSTM(4, return_state=True)
    o, h, c = {n}(x)
    x -> {n}(initial_state=[h, c]) -> o2, _, _
    output o, o2
}}
""",
    }


V2_CASES = [(n, what) for n in V2_HOSTILE for what in v2_templates(n)]


@pytest.mark.parametrize("name,what", V2_CASES, ids=[f"{n}-{w}" for n, w in V2_CASES])
def test_hostile_name_in_v2_positions_generates_python(name, what):
    spec = load(v2_templates(name)[what])
    styles = allowed_styles(spec)
    assert styles
    for style in styles:
        check_source(tfspec.generate(spec, style), style)


V2_BUILT = [(n, what) for n in ("_1", "max") for what in v2_templates(n)] + [("int", "static"), ("self", "outputs")]


@pytest.mark.parametrize("name,what", V2_BUILT, ids=[f"{n}-{w}" for n, w in V2_BUILT])
def test_hostile_names_in_v2_positions_build_in_keras(name, what):
    pytest.importorskip("keras")
    spec = load(v2_templates(name)[what])
    assert fuzz.check_against_keras(spec) == []


def test_random_hostile_v2_models_generate_python():
    """Random v2 models named from the hostile names and Python's builtins (no Keras: fast)."""
    counts = fuzz.v2_campaign(300, seed=41, hostile=True, check_source=check_source)
    assert counts["accepted"] >= 150, counts
    assert counts["failed"] == 0, counts["failures"]


def test_random_hostile_v2_models_build_in_keras():
    pytest.importorskip("keras")
    counts = fuzz.v2_campaign(24, seed=43, hostile=True, build=24, check_source=check_source)
    assert counts["built"] >= 10, counts
    assert counts["failed"] == 0, counts["failures"]
