"""Fuzzing tfspec: grammar-generated text, mutated specs, and random legal models.

Used by tests/test_fuzz.py (a bounded run in CI) and by `make fuzz`
(`python -m tests.fuzz --count N`, a longer campaign that prints the counts as JSON).

Every input must either load or raise tfspec.SpecError whose diagnostics point inside the
text; anything else (another exception, a hang) is a failure. Random legal models that
`check` accepts must build in every style they allow, with the static summary equal to
Keras's parameter counts and output shapes.

Random models in language v2 (random_v2_model) mix tensor expressions, keras.ops calls,
indexes, layers applied in expressions and with call arguments, several results, block-time
values and `if`/`else`, and blocks of several inputs and outputs, now and then with a mistake
on purpose; with `hostile` their names come from the hostile names and Python's builtins.
"""

from __future__ import annotations

import argparse
import glob
import json
import keyword
import operator
import os
import random
import signal
import time
from contextlib import contextmanager

import tfspec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = sorted(glob.glob(os.path.join(ROOT, "specs", "*.tfs")))
TIME_LIMIT = 5  # seconds one input may take before it counts as a hang


class Hang(BaseException):
    """Raised by `deadline`; not an Exception, so that no `except Exception` of tfspec's turns a
    hang into a diagnostic."""


@contextmanager
def deadline(seconds: int):
    def expired(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def outcome(text) -> str:
    """'ok' or 'error'; raises AssertionError for anything that is not a clean SpecError."""
    source = text if isinstance(text, str) else None
    with deadline(TIME_LIMIT):
        try:
            spec = tfspec.loads(text, "fuzz.tfs")
        except tfspec.SpecError as exc:
            assert_positioned(exc, source)
            return "error"
        problems = check_generated(spec, build=False)
        assert not problems, problems
        return "ok"


def assert_positioned(exc, source: str | None) -> None:
    """Every diagnostic of `exc` has a code, a message and a position inside `source` (None:
    bytes, whose lines are not counted); it renders."""
    lines = line_count(source) + 1 if source is not None else 10**9
    for d in exc.diagnostics:
        assert d.path == "fuzz.tfs", d
        assert 1 <= d.line <= lines and d.column >= 1, (d, len(source or ""))
        assert d.code.startswith("E") and d.message
    exc.render()


def line_count(text: str) -> int:
    """Lines as tfspec counts them: LF, CRLF and a lone CR each end one."""
    return text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1


# -- line breaks ----------------------------------------------------------------------------

LINE_BREAKS = ("lf", "crlf", "cr", "mixed")


def with_line_breaks(text: str, kind: str, seed: int = 0) -> str:
    """`text` (LF line breaks) with its line breaks written as LF, CRLF, CR, or a random mix of
    the three: tfspec must read every version as the same lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if kind == "mixed":
        rng = random.Random(seed)
        out = lines[0]
        for line in lines[1:]:
            # a CR then an LF is one CRLF break: after a CR, the next break is never a lone LF
            out += rng.choice(["\r\n", "\r"] if out.endswith("\r") else ["\n", "\r\n", "\r"]) + line
        return out
    return {"lf": "\n", "crlf": "\r\n", "cr": "\r"}[kind].join(lines)


# -- mutations of the example specs ---------------------------------------------------------


def mutations(rng: random.Random, text: str):
    data = text.encode("utf-8")
    lines = text.splitlines(keepends=True)
    kind = rng.choice(["flip", "truncate", "swap", "duplicate", "delete", "insert", "splice", "breaks"])
    if kind == "breaks":  # another line break at a random place, or all of them changed
        if rng.random() < 0.5:
            return kind, with_line_breaks(text, rng.choice(LINE_BREAKS), rng.randrange(1 << 30))
        pos = rng.randrange(len(text) + 1)
        return kind, text[:pos] + rng.choice(["\r", "\r\n", "\n"]) + text[pos:]
    if kind == "flip":
        pos = rng.randrange(len(data))
        return kind, data[:pos] + bytes([data[pos] ^ (1 << rng.randrange(8))]) + data[pos + 1 :]
    if kind == "truncate":
        return kind, data[: rng.randrange(len(data))]
    if kind == "swap":
        tokens = text.split(" ")
        if len(tokens) > 2:
            i, j = rng.randrange(len(tokens)), rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        return kind, " ".join(tokens)
    if kind == "duplicate":
        i = rng.randrange(len(lines))
        return kind, "".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :])
    if kind == "delete":
        i = rng.randrange(len(lines))
        return kind, "".join(lines[:i] + lines[i + 1 :])
    if kind == "insert":
        junk = rng.choice(
            [
                "(",
                ")",
                "[",
                "]",
                "{",
                "}",
                "->",
                ",",
                "=",
                "*",
                '"',
                "#",
                "\x00",
                "\xff",
                "None",
                "-1",
                "1e309",
                "é",
                "\u2028",
                "model",
                "input",
                "output",
                "layer",
                "train",
            ]
        )
        pos = rng.randrange(len(text) + 1)
        return kind, text[:pos] + junk + text[pos:]
    other = open(rng.choice(SPECS), encoding="utf-8").read()
    cut_a, cut_b = rng.randrange(len(text)), rng.randrange(len(other))
    return kind, text[:cut_a] + other[cut_b:]


def mutation_campaign(count: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    texts = [open(p, encoding="utf-8").read() for p in SPECS]
    counts = {"inputs": 0, "loaded": 0, "rejected": 0}
    for _ in range(count):
        kind, mutated = mutations(rng, rng.choice(texts))
        counts["loaded" if outcome(mutated) == "ok" else "rejected"] += 1
        counts["inputs"] += 1
    return counts


def diagnosis(text: str) -> tuple:
    """What loading `text` gives: ("ok", generated functional code) or ("error", positions, rendering)."""
    try:
        spec = tfspec.loads(text, "fuzz.tfs")
    except tfspec.SpecError as exc:
        where = [(d.code, d.line, d.column, d.span.end_line, d.span.end_column) for d in exc.diagnostics]
        return "error", where, exc.render()
    from tfspec.backends import allowed_styles

    return "ok", tuple(tfspec.generate(spec, style) for style in allowed_styles(spec))


def line_break_campaign(count: int, seed: int = 0) -> dict:
    """Mutated specs with their line breaks written as LF, CRLF, CR and mixed: the same model, or
    the same errors at the same positions, every time."""
    rng = random.Random(seed)
    texts = [open(p, encoding="utf-8").read() for p in SPECS]
    counts = {"inputs": 0, "loaded": 0, "rejected": 0}
    for _ in range(count):
        _, mutated = mutations(rng, rng.choice(texts))
        if isinstance(mutated, bytes):
            try:
                mutated = mutated.decode("utf-8")
            except UnicodeDecodeError:
                continue
        with deadline(TIME_LIMIT):
            want = diagnosis(with_line_breaks(mutated, "lf"))
            for kind in LINE_BREAKS[1:]:
                got = diagnosis(with_line_breaks(mutated, kind, rng.randrange(1 << 30)))
                assert got == want, (kind, mutated, got[:2], want[:2])
        counts["inputs"] += 1
        counts["loaded" if want[0] == "ok" else "rejected"] += 1
    return counts


# -- random legal models ---------------------------------------------------------------------

PADDINGS_1D = ('"same"', '"causal"')


def layer_menu(rng: random.Random, rank: int):
    """One random layer call valid for samples of `rank` (spatial + channels), and the new rank."""
    act = rng.choice(['"relu"', '"tanh"', '"sigmoid"', "None", '"gelu"'])
    if rank == 1:
        options = [
            (f"Dense({rng.randint(1, 16)}, activation={act}, use_bias={rng.choice(['True', 'False'])})", 1),
            (f"Dropout({rng.choice([0.0, 0.1, 0.5])})", 1),
            ("BatchNormalization()", 1),
            ("LayerNormalization()", 1),
            (f"RepeatVector({rng.randint(1, 4)})", 2),
            ('Activation("softmax")', 1),
        ]
    elif rank == 2:
        options = [
            (f"Conv1D({rng.randint(1, 8)}, {rng.randint(1, 3)}, padding={rng.choice(PADDINGS_1D)})", 2),
            (f"LSTM({rng.randint(1, 8)}, return_sequences={rng.choice(['True', 'False'])})", None),
            (f"GRU({rng.randint(1, 8)}, return_sequences=True)", 2),
            (f"SimpleRNN({rng.randint(1, 8)})", 1),
            ("GlobalAveragePooling1D()", 1),
            ("Flatten()", 1),
            (f"Dense({rng.randint(1, 8)})", 2),
            (f"Bidirectional(LSTM({rng.randint(1, 6)}, return_sequences=True))", 2),
            (f"TimeDistributed(Dense({rng.randint(1, 6)}))", 2),
        ]
    else:
        options = [
            (
                f'Conv2D({rng.randint(1, 8)}, {rng.choice([1, 3, "(3, 1)"])}, padding="same", '
                f"strides={rng.choice([1, 1, 2])})",
                3,
            ),
            (f'SeparableConv2D({rng.randint(1, 8)}, 3, padding="same")', 3),
            (f'DepthwiseConv2D(3, padding="same", depth_multiplier={rng.randint(1, 2)})', 3),
            ('MaxPooling2D(2, padding="same")', 3),
            ('AveragePooling2D(2, padding="same")', 3),
            ("BatchNormalization()", 3),
            ("ZeroPadding2D(1)", 3),
            ("UpSampling2D(2)", 3),
            ("GlobalMaxPooling2D()", 1),
            ("Flatten()", 1),
            (f'Conv2DTranspose({rng.randint(1, 6)}, 3, strides={rng.choice([1, 2])}, padding="same")', 3),
        ]
    call, new_rank = rng.choice(options)
    if new_rank is None:
        new_rank = 2 if "return_sequences=True" in call else 1
    return call, new_rank


def random_model(rng: random.Random, index: int) -> str:
    rank = rng.choice([1, 2, 3])
    shape = {
        1: f"[{rng.randint(2, 12)}]",
        2: f"[{rng.randint(3, 8)}, {rng.randint(1, 6)}]",
        3: f"[{rng.randint(4, 12)}, {rng.randint(4, 12)}, {rng.randint(1, 3)}]",
    }[rank]
    steps = []
    for _ in range(rng.randint(1, 6)):
        call, rank = layer_menu(rng, rank)
        steps.append(call)
        if rank > 3:
            break
    if rank != 1:
        steps.append("Flatten()")
    steps.append(f"Dense({rng.randint(1, 5)})")
    branch = rng.random() < 0.3
    lines = [f"model Random{index} {{", f"    input x: {shape}", "    x -> " + " -> ".join(steps) + " -> y"]
    if branch:
        lines.append(f"    x -> Flatten() -> Dense({rng.randint(1, 5)}) -> z")
        lines.append("    [y, z] -> Concatenate() -> out")
        lines.append("    output out")
    else:
        lines.append("    output y")
    lines.append("}")
    return "\n".join(lines) + "\n"


def check_against_keras(spec) -> list:
    """Problems found when the accepted spec is built in every style it allows."""
    import keras
    import numpy as np

    from tfspec.backends import allowed_styles

    keras.backend.clear_session()  # many models in one process: keep the global state small
    problems = []
    summary = tfspec.summary(spec)
    for style in allowed_styles(spec):
        try:
            model = tfspec.build(spec, style)
        except Exception as exc:  # noqa: BLE001 - anything Keras refuses is a bug in check
            problems.append(f"{style}: Keras refused a spec that check accepted: {type(exc).__name__}: {exc}")
            continue
        trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
        if (trainable, frozen) != (summary.trainable_params, summary.non_trainable_params):
            problems.append(
                f"{style}: params {(trainable, frozen)} != static "
                f"{(summary.trainable_params, summary.non_trainable_params)}"
            )
        try:
            if model.count_params() != summary.total_params:
                problems.append(f"{style}: count_params() {model.count_params()} != static {summary.total_params}")
        except ValueError as exc:  # Keras keeps a model whose call failed, unbuilt
            problems.append(f"{style}: {str(exc)[:200]}")
            continue
        try:
            shapes = [tuple(t.shape[1:]) for t in output_tensors(model, spec, style)]
        except Exception as exc:  # noqa: BLE001 - a model that cannot be called again is a bug too
            problems.append(f"{style}: calling the model raised {type(exc).__name__}: {str(exc)[:300]}")
            continue
        want = [tuple(spec.model.shapes[o]) for o in spec.model.outputs]
        if shapes != want and run_shapes(model, spec) != want:
            # (Keras's symbolic shapes can be wrong where a run is right: MultiHeadAttention's
            # scores for a key longer than the query; only what runs counts)
            problems.append(f"{style}: output shapes {shapes} != static {want}")
    return problems


def run_shapes(model, spec) -> list:
    """The per-sample shapes of the model's outputs on a batch of two samples of ones, or the
    error it raises."""
    import numpy as np

    x = [np.ones((2, *[d or 3 for d in i.shape]), dtype=i.dtype) for i in spec.model.inputs]
    try:
        got = model.predict(x[0] if len(x) == 1 else x, verbose=0)
    except Exception as exc:  # noqa: BLE001 - reported as the outcome
        return [f"{type(exc).__name__}: {str(exc)[:200]}"]
    return [tuple(np.shape(t)[1:]) for t in (got if isinstance(got, (list, tuple)) else [got])]


def output_tensors(model, spec, style: str) -> list:
    """The model's symbolic outputs: those it was built with, or (a subclassed model has none)
    those of a call on fresh symbolic inputs."""
    import keras

    if style != "subclassing":
        return list(model.outputs)
    inputs = [keras.Input(shape=i.shape, dtype=i.dtype, name=f"input_{k}") for k, i in enumerate(spec.model.inputs)]
    got = model(inputs[0] if len(inputs) == 1 else inputs)
    return list(got) if isinstance(got, (list, tuple)) else [got]


def semantic_campaign(count: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    counts = {"models": 0, "accepted": 0, "rejected": 0, "built": 0, "mismatches": 0}
    failures = []
    for i in range(count):
        text = random_model(rng, i)
        counts["models"] += 1
        try:
            spec = tfspec.loads(text, "random.tfs")
        except tfspec.SpecError:
            counts["rejected"] += 1
            continue
        counts["accepted"] += 1
        problems = check_against_keras(spec)
        counts["built"] += 1
        if problems:
            counts["mismatches"] += 1
            failures.append((text, problems))
    counts["failures"] = failures[:5]
    return counts


# -- generated code is valid Python, whatever the names ---------------------------------------

# Names that broke generated code or could: an underscore and digits (`self.1`), a lone
# underscore, names the printers use themselves, Keras attributes, generated-name patterns.
# All are legal names (`__x`, `__init__` and keywords are refused, E307): each must work in
# every position.
HOSTILE_NAMES = [
    "_1",
    "_9",
    "_",
    "self",
    "super",
    "call",
    "get_config",
    "compute_mask",
    "build",
    "build_model",
    "keras",
    "layers",
    "training",
    "inputs",
    "kwargs",
    "mask",
    "config",
    "cls",
    "name",
    "weights",
    "TRAINING",
    "np",
    "tf",
    "print",
    "Model",
    "layer_1",
    "v_",
    "x_",
    "M",
]


REFUSED_NAMES = ("__x", "__init__", "class", "model", "layer")  # E307: keywords, reserved


def random_name(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return rng.choice(HOSTILE_NAMES)
    first = rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
    name = first + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_0123456789") for _ in range(rng.randint(0, 4)))
    return name if not (keyword.iskeyword(name) or name.startswith("__") or name in REFUSED_NAMES) else "z"


def distinct_names(rng: random.Random, k: int) -> list:
    """k different names (the language needs them different), now and then a refused one."""
    names: list = []
    while len(names) < k:
        name = rng.choice(REFUSED_NAMES) if rng.random() < 0.01 else random_name(rng)
        if name not in names:
            names.append(name)
    return names


ACTIVATIONS = ("None", '"relu"')


def random_named_model(rng: random.Random, index: int) -> str:
    """A random legal model of per-sample vectors whose every name (model, blocks, block
    parameters, inputs, tensors, shared layers) is drawn from HOSTILE_NAMES or made up: blocks
    with parameters (by position, by keyword, defaulted), a block used twice, nested blocks,
    a shared layer, several inputs. Names clash across kinds on purpose; when the language
    forbids a clash, check refuses the spec, which is fine."""
    width = rng.randint(2, 6)
    lines, blocks = [], []
    for _ in range(rng.randint(0, 3)):
        name = random_name(rng)
        if name in [b for b, _ in blocks]:
            continue
        param, other, inp, mid, out = distinct_names(rng, 5)
        inner = f"{mid} -> Dense({param}) -> {out}"
        if blocks and rng.random() < 0.5:  # a nested block, given this block's parameter
            callee, _ = rng.choice(blocks)
            inner = f"{mid} -> {callee}({param}) -> {out}"
        lines += [
            f"block {name}({param}, {other}={rng.randint(1, 4)}) {{",
            f"    input {inp}",
            f"    {inp} -> Dense({other}, activation={rng.choice(ACTIVATIONS)}) -> {mid}",
            f"    {inner}",
            f"    output {out}",
            "}",
        ]
        blocks.append((name, (param, other)))
    names = distinct_names(rng, 6)
    shared, tensor, merged, extra = names[:4]
    inputs = names[4 : 4 + rng.randint(1, 2)]
    lines.append(f"model {random_name(rng)} {{")
    lines += [f"    input {i}: [{width}]" for i in inputs]
    sharing = rng.random() < 0.6  # a shared layer (or none: then one input allows Sequential)
    if sharing:
        lines.append(f"    layer {shared} = Dense({width})")
    current = inputs[0]
    steps = [f"Dense({width})"]
    for name, (param, other) in blocks:
        arguments = rng.choice([f"{width}", f"{param}={width}", f"{width}, {other}={rng.randint(1, 3)}"])
        steps.append(f"{name}({arguments})")
        steps.append(f"Dense({width})")
        if rng.random() < 0.4:  # the same block twice: two instances, ids `name`, `name_1`
            steps += [f"{name}({width})", f"Dense({width})"]
    steps += [shared, "Dropout(0.1)", shared] if sharing else ["Dropout(0.1)"]
    lines.append(f"    {current} -> " + " -> ".join(steps) + f" -> {tensor}")
    outputs = [tensor]
    if len(inputs) > 1:
        lines.append(f"    {inputs[1]} -> Dense({width}) -> {extra}")
        lines.append(f"    [{tensor}, {extra}] -> {rng.choice(['Add', 'Concatenate', 'Multiply'])}() -> {merged}")
        outputs = [merged] + ([extra] if rng.random() < 0.5 else [])
    lines.append(f"    output {', '.join(outputs)}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def check_generated(spec, build: bool = True) -> list:
    """Problems with the modules generated for `spec`: in every style it allows the source
    must parse and compile, and (with `build`) its build_model() must return a Keras model."""
    import ast

    from tfspec.backends import allowed_styles

    problems = []
    for style in allowed_styles(spec):
        source = tfspec.generate(spec, style)
        try:
            ast.parse(source)
            compile(source, f"<{style}>", "exec")
        except SyntaxError as exc:
            problems.append(f"{style}: generated code is not Python: {exc.msg} in {exc.text!r}")
            continue
        if not build:
            continue
        import keras

        from tfspec.live import load_module

        keras.backend.clear_session()
        try:
            model = load_module(source, f"fuzz_{style}").build_model()
        except Exception as exc:  # noqa: BLE001 - any failure of accepted code is a bug
            problems.append(f"{style}: build_model() raised {type(exc).__name__}: {str(exc)[:300]}")
            continue
        if not isinstance(model, keras.Model):
            problems.append(f"{style}: build_model() returned {type(model).__name__}, not a keras.Model")
    return problems


def naming_campaign(count: int, seed: int = 0, build: bool = True) -> dict:
    """Random models with hostile names: everything check accepts generates valid Python in
    every style it allows, and build_model() makes a Keras model."""
    rng = random.Random(seed)
    counts = {"models": 0, "accepted": 0, "rejected": 0, "modules": 0, "broken": 0}
    failures = []
    for i in range(count):
        text = random_named_model(rng, i)
        counts["models"] += 1
        try:
            spec = tfspec.loads(text, "named.tfs")
        except tfspec.SpecError:
            counts["rejected"] += 1
            continue
        counts["accepted"] += 1
        from tfspec.backends import allowed_styles

        counts["modules"] += len(allowed_styles(spec))
        problems = check_generated(spec, build)
        if problems:
            counts["broken"] += 1
            failures.append((text, problems))
    counts["failures"] = failures[:5]
    return counts


# -- v2: tensor expressions, call arguments, several results, static values, if/else ----------

# Names of Python's builtins, of the block-time builtins and of catalog operations: as tensors,
# values and block parameters they must not hide the function of the same name in generated code.
BUILTIN_NAMES = [
    "max",
    "min",
    "abs",
    "int",
    "float",
    "round",
    "len",
    "sum",
    "mean",
    "relu",
    "cast",
    "positions",
    "shape",
    "ops",
    "eval",
    "exec",
    "getattr",
    "open",
    "range",
    "type",
    "list",
]
V2_NAMES = [n for n in HOSTILE_NAMES if n != "_"] + BUILTIN_NAMES  # `_` discards a result in v2

# Python's binding strength, as the language has it (higher binds tighter).
OR, AND, NOT, COMPARE, SUM, PRODUCT, UNARY, ATOM = range(1, 9)
COMPARISONS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "//": operator.floordiv, "%": operator.mod}
UNARY_OPS = ["abs", "relu", "relu6", "tanh", "sigmoid", "square", "softplus", "hard_swish", "silu", "negative"]


def wrap(text: str, level: int, least: int, rng: random.Random) -> str:
    """`text` (binding `level`) as an operand that must bind at least `least`: in parentheses
    when needed, and now and then when not (parentheses leave no trace in the spec)."""
    return f"({text})" if level < least or rng.random() < 0.08 else text


class Names:
    """Fresh names for one spec, all different: made up, or (hostile) drawn from V2_NAMES."""

    def __init__(self, rng: random.Random, hostile: bool):
        self.rng, self.hostile, self.taken, self.count = rng, hostile, set(), 0

    def __call__(self, prefix: str = "t") -> str:
        if self.hostile and self.rng.random() < 0.6:
            name = self.rng.choice(V2_NAMES)
            if name not in self.taken:
                self.taken.add(name)
                return name
        self.count += 1
        name = f"{prefix}{self.count}"
        self.taken.add(name)
        return name


class Body:
    """One body (the model's, or a block's at the use that shapes it) written at random: its
    lines, the float32 tensors it holds with their per-sample shapes (as the generator expects
    them), and its block parameters with their values. `broken` once a statement that is wrong
    on purpose is written; `features` the constructs written."""

    def __init__(self, rng: random.Random, names: Names, bad: float, in_block: bool = False):
        self.rng, self.names, self.bad, self.in_block = rng, names, bad, in_block
        self.lines: list = []
        self.shapes: dict = {}
        self.unused: list = []
        self.width: tuple | None = None  # (name, value): a block's width parameter
        self.flag: str | None = None  # a block's parameter read only by conditions
        self.broken = False
        self.features: set = set()
        self.blocks: list = []  # block definitions this body uses (model only)

    # -- tensors ---------------------------------------------------------------------------

    def add(self, shape, name: str | None = None) -> str:
        name = name or self.names()
        self.shapes[name] = tuple(shape)
        self.unused.append(name)
        return name

    def pick(self, accept=lambda shape: True) -> str | None:
        """A tensor whose shape `accept`s, preferably one not read yet; marked read."""
        fits = [t for t in self.shapes if accept(self.shapes[t])]
        if not fits:
            return None
        fresh = [t for t in fits if t in self.unused]
        name = self.rng.choice(fresh if fresh and self.rng.random() < 0.7 else fits)
        self.read(name)
        return name

    def read(self, name: str) -> None:
        if name in self.unused:
            self.unused.remove(name)

    def same(self, shape) -> str:
        """A tensor of exactly `shape` (there is always one: the one the caller picked)."""
        return self.pick(lambda s: s == shape)

    def emit(self, line: str) -> None:
        self.lines.append(line)

    # -- expressions -----------------------------------------------------------------------

    def number(self) -> str:
        return self.rng.choice(["2", "0.5", "3.0", "1", "-1", "-0.25", "1e-3"])

    def tensor_expr(self, shape, depth: int) -> tuple:
        """(text, level) of a float32 expression of `shape` over tensors of that shape."""
        rng = self.rng
        if depth <= 0 or rng.random() < 0.25:
            return self.same(shape), ATOM
        kinds = ["binary", "binary", "number", "neg", "function", "compare", "logic", "layer"]
        kind = rng.choice(kinds)
        if kind in ("binary", "number"):
            op = rng.choice(["+", "-", "*", "/"])
            level = SUM if op in "+-" else PRODUCT
            left = self.tensor_expr(shape, depth - 1)
            right = (self.number(), ATOM) if kind == "number" else self.tensor_expr(shape, depth - 1)
            if kind == "number" and rng.random() < 0.5:
                left, right = right, left
            self.features.add("operator")
            return f"{wrap(*left, level, rng)} {op} {wrap(*right, level + 1, rng)}", level
        if kind == "neg":
            self.features.add("unary minus")
            return "-" + wrap(*self.tensor_expr(shape, depth - 1), UNARY, rng), UNARY
        if kind == "function":
            self.features.add("keras.ops")
            inner = self.tensor_expr(shape, depth - 1)[0]
            f = rng.choice(UNARY_OPS + ["maximum", "minimum", "power", "leaky_relu", "gelu", "elu"])
            extra = {
                "maximum": ", 0.0",
                "minimum": ", OTHER",
                "power": ", 2",
                "leaky_relu": ", negative_slope=0.1",
                "gelu": ", approximate=False",
                "elu": ", 0.5",
            }.get(f, "")
            if "OTHER" in extra:
                extra = extra.replace("OTHER", self.same(shape))
            return f"{f}({inner}{extra})", ATOM
        if kind == "compare":
            self.features.add("comparison")
            op = rng.choice(["==", "!=", "<", "<=", ">", ">="])
            left = wrap(*self.tensor_expr(shape, depth - 1), SUM, rng)
            right = (self.number(), ATOM) if rng.random() < 0.5 else self.tensor_expr(shape, depth - 1)
            right = wrap(*right, SUM, rng)
            return f'cast({left} {op} {right}, "float32")', ATOM
        if kind == "logic":
            self.features.add("and/or/not")
            form = rng.choice(["{a} and {b}", "{a} or not {b}", "not {a}", "not ({a} or {b})"])
            a = f"{wrap(*self.tensor_expr(shape, depth - 1), SUM, rng)} > 0"
            b = f"{wrap(*self.tensor_expr(shape, depth - 1), SUM, rng)} < 0.5" if "{b}" in form else ""
            text = form.format(a=a, b=b)
            return f'cast({text}, "float32")', ATOM
        self.features.add("layer in expression")
        inner = self.tensor_expr(shape, depth - 1)[0]
        if not shape:
            return f'Activation("relu")({inner})', ATOM
        layer = rng.choice([f"Dense({shape[-1]})", "LayerNormalization()", 'Activation("tanh")'])
        return f"{layer}({inner})", ATOM

    def static_expr(self, depth: int) -> tuple:
        """(text, value, level) of a block-time integer: literals, shapes, the width parameter,
        operators and the builtins."""
        rng = self.rng
        if depth <= 0 or rng.random() < 0.3:
            options = ["literal", "shape", "shape"] + (["param"] * 2 if self.width else [])
            kind = rng.choice(options)
            shaped = [t for t, s in self.shapes.items() if s]
            # not a use: a tensor read only for its shape would take no part in the model (E304),
            # so each is also used otherwise or made an output
            tensor = rng.choice(shaped) if kind == "shape" and shaped else None
            if kind == "param":
                return self.width[0], self.width[1], ATOM
            if tensor is not None:
                self.features.add("static shape")
                shape = self.shapes[tensor]
                if rng.random() < 0.15:
                    return f"len({tensor}.shape)", len(shape) + 1, ATOM
                axis = rng.choice([-1, *range(1, len(shape) + 1)])
                return f"{tensor}.shape[{axis}]", (None, *shape)[axis], ATOM
            value = rng.randint(1, 6)
            return str(value), value, ATOM
        kind = rng.choice(["+", "-", "*", "//", "%", "neg", "max", "min", "abs", "int", "round"])
        a = self.static_expr(depth - 1)
        if kind == "neg":
            return "-" + wrap(a[0], a[2], UNARY, rng), -a[1], UNARY
        if kind in ("abs", "int", "round"):
            text, value = {
                "abs": (f"abs({a[0]})", abs(a[1])),
                "int": (f"int({wrap(a[0], a[2], PRODUCT, rng)} * 1.5)", int(a[1] * 1.5)),
                "round": (f"round({wrap(a[0], a[2], PRODUCT, rng)} / 2)", round(a[1] / 2)),
            }[kind]
            return text, value, ATOM
        b = self.static_expr(depth - 1)
        if kind in ("max", "min"):
            return f"{kind}({a[0]}, {b[0]})", (max if kind == "max" else min)(a[1], b[1]), ATOM
        if kind in ("//", "%") and b[1] == 0:
            kind = "+"
        level = SUM if kind in "+-" else PRODUCT
        value = ARITHMETIC[kind](a[1], b[1])
        return f"{wrap(a[0], a[2], level, rng)} {kind} {wrap(b[0], b[2], level + 1, rng)}", value, level

    def width_value(self) -> tuple:
        """(text, value) of a block-time layer width, 1 to 12."""
        text, value, level = self.static_expr(self.rng.randint(0, 2))
        if not 1 <= value <= 12:
            text, value = f"max(1, min(12, {text}))", max(1, min(12, value))
        return text, value

    def condition(self) -> tuple:
        """(text, truth, level) of a block-time condition (in a block: on the flag parameter)."""
        rng = self.rng
        if self.flag and rng.random() < 0.7:
            a = (self.flag, None, ATOM)  # its value differs between uses: either branch may run
        else:
            a = self.condition_operand()
        b = self.condition_operand()
        op = rng.choice(["==", "!=", "<", "<=", ">", ">="])
        truth = None if a[1] is None else COMPARISONS[op](a[1], b[1])
        text = f"{wrap(a[0], a[2], SUM, rng)} {op} {wrap(b[0], b[2], SUM, rng)}"
        if rng.random() < 0.3:
            text, truth = f"not {text}", None if truth is None else not truth
            return text, truth, NOT
        if rng.random() < 0.3:
            other, value, _ = self.condition_operand(0)
            joiner = rng.choice(["and", "or"])
            text = f"{text} {joiner} {other} > 2"
            if truth is not None:
                truth = (truth and value > 2) if joiner == "and" else (truth or value > 2)
            return text, truth, AND if joiner == "and" else OR
        return text, truth, COMPARE

    def condition_operand(self, depth: int = 1) -> tuple:
        """A static_expr for a condition (it may read a shape)."""
        return self.static_expr(depth)

    # -- statements ------------------------------------------------------------------------

    def statement(self) -> None:
        rng = self.rng
        if rng.random() < self.bad:
            self.wrong()
            return
        kinds = ["expression", "expression", "reduce", "index", "reshape", "layer", "static", "if", "rnn"]
        kinds += ["attention", "mask", "positions"]
        if not self.in_block:
            kinds += ["block", "block"]
        for _ in range(10):
            if getattr(self, "s_" + rng.choice(kinds))() is not False:
                return

    def any_shape(self) -> tuple:
        """The shape of a tensor, preferably of one not read yet (the leaves read them)."""
        pool = self.unused if self.unused and self.rng.random() < 0.7 else list(self.shapes)
        return self.shapes[self.rng.choice(pool)]

    def s_expression(self):
        shape = self.any_shape()
        text, level = self.tensor_expr(shape, self.rng.randint(1, 3))
        self.emit(f"{self.add(shape)} = {text}")

    def s_reduce(self):
        tensor = self.pick(lambda s: len(s) >= 1)
        if tensor is None:
            return False
        shape, rng = self.shapes[tensor], self.rng
        self.features.add("keras.ops")
        axis = rng.choice([-1, *range(1, len(shape) + 1)])
        pos = (axis if axis > 0 else len(shape) + 1 + axis) - 1
        if rng.random() < 0.2:
            f = rng.choice(["argmax", "argmin"])
            self.emit(f'{self.add(shape[:pos] + shape[pos + 1 :])} = cast({f}({tensor}, axis={axis}), "float32")')
            return None
        f = rng.choice(["mean", "sum", "max", "min", "prod"])
        if rng.random() < 0.4:
            self.emit(f"{self.add(shape[:pos] + (1,) + shape[pos + 1 :])} = {f}({tensor}, axis={axis}, keepdims=True)")
        else:
            self.emit(f"{self.add(shape[:pos] + shape[pos + 1 :])} = {f}({tensor}, axis={axis})")
        return None

    def s_index(self):
        tensor = self.pick(lambda s: len(s) >= 1)
        if tensor is None:
            return False
        shape, rng = self.shapes[tensor], self.rng
        self.features.add("index")
        n = shape[0]
        i = rng.randrange(-n, n)
        for _ in range(20):  # a slice that keeps at least one step
            start, stop = rng.choice([None, *range(-n, n + 1)]), rng.choice([None, *range(-n, n + 1)])
            step = rng.choice([None, None, 2, -1])
            size = len(range(n)[slice(start, stop, step)])
            if size:
                break
        else:
            start, stop, step, size = None, None, None, n
        part = ("" if start is None else str(start)) + ":" + ("" if stop is None else str(stop))
        part += "" if step is None else f":{step}"
        options = [
            (f"[:, {i}]", shape[1:]),
            (f"[:, {part}]", (size,) + shape[1:]),
            (f"[..., {rng.randrange(-shape[-1], shape[-1])}]", shape[:-1]),
            ("[:, None]", (1,) + shape),
            ("[..., None]", shape + (1,)),
            (f"[:, {part}, ...]", (size,) + shape[1:]),
        ]
        if len(shape) >= 2:
            options.append((f"[:, :, {rng.randrange(shape[1])}]", shape[:1] + shape[2:]))
        key, new = rng.choice(options)
        self.emit(f"{self.add(new)} = {tensor}{key}")
        return None

    def s_reshape(self):
        tensor = self.pick(lambda s: len(s) >= 1)
        if tensor is None:
            return False
        shape, rng = self.shapes[tensor], self.rng
        self.features.add("keras.ops")
        size = 1
        for d in shape:
            size *= d
        options = [
            (f"reshape({tensor}, (-1, {size}))", (size,)),
            (f"reshape({tensor}, ({rng.choice(['None', '-1'])}, -1, 1))", (size, 1)),
            (f"expand_dims({tensor}, axis=1)", (1,) + shape),
            (f"expand_dims({tensor}, axis=-1)", shape + (1,)),
            (f"squeeze(expand_dims({tensor}, axis=1), axis=1)", shape),
            (f"concatenate([{tensor}, OTHER], axis=-1)", shape[:-1] + (2 * shape[-1],)),
            (f"stack([{tensor}, OTHER], axis=1)", (2,) + shape),
            (f"softmax({tensor}, axis=-1)", shape),
            (f"log_softmax({tensor}, axis=1)", shape),
        ]
        if len(shape) == 2:
            options += [
                (f"transpose({tensor}, axes=(0, 2, 1))", shape[::-1]),
                (f"matmul({tensor}, transpose(OTHER, axes=(0, 2, 1)))", (shape[0], shape[0])),
            ]
        options = [o for o in options if ", -1, 1))" not in o[0]]  # one -1 only: the batch's
        text, new = rng.choice(options)
        if "OTHER" in text:  # a second operand of the same shape (or the same tensor again)
            text = text.replace("OTHER", self.same(shape) if rng.random() < 0.5 else tensor)
        self.emit(f"{self.add(new)} = {text}")
        return None

    def s_layer(self):
        tensor = self.pick(lambda s: len(s) >= 1)
        if tensor is None:
            return False
        shape, rng = self.shapes[tensor], self.rng
        units = rng.randint(1, 6)
        act = rng.choice(['"relu"', "None", '"tanh"'])
        form = rng.randrange(4)
        if form == 0:
            self.emit(f"{tensor} -> Dense({units}, activation={act}) -> {self.add(shape[:-1] + (units,))}")
        elif form == 1:
            self.features.add("layer in expression")
            self.emit(f"{self.add(shape[:-1] + (units,))} = Dense({units})({tensor}) * 2")
        elif form == 2:
            self.features.add("layer in expression")
            other = self.same(shape)
            self.emit(f"{self.add(shape)} = LayerNormalization()({tensor} + {other})")
        else:
            other = self.same(shape)
            self.emit(f"[{tensor}, {other}] -> {rng.choice(['Add', 'Multiply', 'Maximum'])}() -> {self.add(shape)}")
        return None

    def s_static(self):
        tensor = self.pick(lambda s: len(s) >= 1)
        if tensor is None:
            return False
        shape = self.shapes[tensor]
        text, value = self.width_value()
        name = self.names("n")
        self.features.add("static value")
        self.emit(f"{name} = {text}")
        if self.rng.random() < 0.5:
            self.emit(f"{tensor} -> Dense({name}) -> {self.add(shape[:-1] + (value,))}")
        else:
            self.emit(f"{self.add(shape[:-1] + (value,))} = Dense({name} * 2 - {name})({tensor})")
        return None

    def branch(self, tensor: str, target: str, keep: bool) -> tuple:
        """Lines of one branch that make `target` from `tensor`, and the shape it gets; `keep`:
        the shape of `tensor` (a block's branches, for its uses may take either)."""
        shape, rng = self.shapes[tensor], self.rng
        width = shape[-1] if keep else rng.randint(1, 6)
        options = [
            ([f"{tensor} -> Dense({width}) -> {target}"], shape[:-1] + (width,)),
            ([f"{target} = {tensor} * {self.number()}"], shape),
            ([f"{target} = relu({tensor}) - {tensor}"], shape),
        ]
        if keep:
            value = self.names("c")
            options.append(([f"{value} = {tensor}.shape[-1]", f"{tensor} -> Dense({value}) -> {target}"], shape))
        else:
            options.append(([f"{target} = mean({tensor}, axis=-1, keepdims=True)"], shape[:-1] + (1,)))
        return rng.choice(options)

    def s_if(self):
        tensor = self.pick(lambda s: len(s) >= 1)
        if tensor is None:
            return False
        self.features.add("if/else")
        target = self.names()
        text, truth, _ = self.condition()
        keep = self.in_block
        then, then_shape = self.branch(tensor, target, keep)
        lines = [f"if {text} {{"] + ["    " + line for line in then]
        shape = then_shape
        if self.in_block or self.rng.random() < 0.85:
            other, other_shape = self.branch(tensor, target, keep)
            if self.rng.random() < 0.3:
                more, more_truth, _ = self.condition()
                third, third_shape = self.branch(tensor, target, keep)
                lines += [f"}} else if {more} {{"] + ["    " + line for line in other]
                lines += ["} else {"] + ["    " + line for line in third]
                if truth is False:
                    other_shape = other_shape if more_truth else third_shape
            else:
                lines += ["} else {"] + ["    " + line for line in other]
            if truth is False:
                shape = other_shape
        elif truth is not True:
            self.broken = True  # no else, and the branch may not run: `target` may be undefined
        lines.append("}")
        for line in lines:
            self.emit(line)
        self.add(shape, target)
        return None

    def s_rnn(self):
        tensor = self.pick(lambda s: len(s) == 2)
        if tensor is None:
            return False
        rng = self.rng
        steps = self.shapes[tensor][0]
        kind = rng.choice(["LSTM", "GRU", "SimpleRNN"])
        units = rng.randint(1, 6)
        sequences = rng.random() < 0.4
        first = (steps, units) if sequences else (units,)
        count = 3 if kind == "LSTM" else 2
        call = f"{kind}({units}, return_state=True{', return_sequences=True' * sequences})"
        self.features.add("several results")
        if rng.random() < 0.2:  # a declared layer applied twice, the second time from its own states
            layer, names = self.names("l"), [self.names() for _ in range(count)]
            again = [self.names()] + ["_"] * (count - 1)
            self.features.add("call arguments")
            self.emit(f"layer {layer} = {call}")
            self.emit(f"{', '.join(names)} = {layer}({tensor})")
            self.emit(f"{tensor} -> {layer}(initial_state=[{', '.join(names[1:])}]) -> {', '.join(again)}")
            self.add(first, names[0])
            self.add(first, again[0])
            return None
        names = [self.names() if i == 0 or rng.random() < 0.8 else "_" for i in range(count)]
        if rng.random() < 0.5:
            self.emit(f"{', '.join(names)} = {call}({tensor})")
        else:
            self.emit(f"{tensor} -> {call} -> {', '.join(names)}")
        for i, name in enumerate(names):
            if name != "_":
                self.add(first if i == 0 else (units,), name)
        states = names[1:]
        if "_" not in states and rng.random() < 0.7:  # a second RNN starts from these states
            other = self.pick(lambda s: len(s) == 2)
            for s in states:
                self.read(s)
            given = f"[{', '.join(states)}]" if kind == "LSTM" or rng.random() < 0.5 else states[0]
            self.features.add("call arguments")
            self.emit(f"{other} -> {kind}({units})(initial_state={given}) -> {self.add((units,))}")
        return None

    def bool_mask(self, tensor: str) -> str:
        """A bool (steps,) mask of a (steps, features) tensor, named."""
        name = self.names("m")
        form = self.rng.choice([f"{tensor}[:, :, 0] > 0", f"{tensor}[:, :, -1] != 0", f"mean({tensor}, axis=-1) >= 0"])
        self.emit(f"{name} = {form}")
        return name

    def s_attention(self):
        query = self.pick(lambda s: len(s) == 2)
        if query is None:
            return False
        rng = self.rng
        value = self.pick(lambda s: len(s) == 2) if rng.random() < 0.5 else query
        (steps, features), (vsteps, _) = self.shapes[query], self.shapes[value]
        heads, key = rng.randint(1, 3), rng.randint(1, 4)
        layer = f"MultiHeadAttention(num_heads={heads}, key_dim={key})"
        sources = f"[{query}, {value}]" if rng.random() < 0.7 else f"[{query}, {value}, {value}]"
        form = rng.choice(["causal", "mask", "scores"])
        if form == "scores" and steps != vsteps:
            form = "causal"  # refused: Keras's symbolic shape of the scores when T_q != T_v is wrong
        self.features.add("call arguments")
        if form == "causal":
            self.emit(f"{sources} -> {layer}(use_causal_mask=True) -> {self.add((steps, features))}")
        elif form == "mask":
            a, b = self.bool_mask(query), self.bool_mask(value)
            pairs = self.names("pairs")
            self.emit(f"{pairs} = logical_and({a}[:, :, None], {b}[:, None, :])")
            self.emit(f"{sources} -> {layer}(attention_mask={pairs}) -> {self.add((steps, features))}")
        else:
            self.features.add("several results")
            out, scores = self.add((steps, features)), self.add((heads, steps, vsteps))
            self.emit(f"{out}, {scores} = {layer}({query}, {value}, return_attention_scores=True)")
        return None

    def s_mask(self):
        tensor = self.pick(lambda s: len(s) == 2)
        if tensor is None:
            return False
        mask = self.bool_mask(tensor)
        units = self.rng.randint(1, 5)
        steps, features = self.shapes[tensor]
        self.features.add("call arguments")
        layer, shape = self.rng.choice(
            [
                ("GlobalAveragePooling1D()", (features,)),
                (f"LSTM({units})", (units,)),
                (f"GRU({units}, return_sequences=True)", (steps, units)),
            ]
        )
        self.emit(f"{tensor} -> {layer}(mask={mask}) -> {self.add(shape)}")
        return None

    def s_positions(self):
        tensor = self.pick(lambda s: len(s) == 1)  # positions of ids: samples of rank 1
        if tensor is None:
            return False
        steps = self.shapes[tensor][0]
        self.features.add("keras.ops")
        if self.rng.random() < 0.5:
            ids, dim = self.names("p"), self.rng.randint(1, 4)
            self.emit(f"{ids} = positions({tensor})")
            self.emit(f"{ids} -> Embedding({steps + 1}, {dim}) -> {self.add((steps, dim))}")
        else:
            self.emit(f'{self.add((steps,))} = cast(positions({tensor}), "float32") / {steps}')
        return None

    def s_block(self):
        """A block with one or two inputs and one or more outputs, defined for the shapes it is
        given here and used once or twice (with another flag: its branches keep shapes), in a
        chain or an assignment, its parameters by position or by keyword."""
        rng = self.rng
        first = self.pick(lambda s: len(s) >= 1)
        if first is None:
            return False
        shape = self.shapes[first]
        inputs = [first] + ([self.same(shape)] if rng.random() < 0.5 else [])
        name, width, flag = self.names("B"), self.names("k"), self.names("f")
        body = Body(rng, self.names, self.bad / 2, in_block=True)
        body.width, body.flag = (width, rng.randint(1, 4)), flag
        params = [body.names("i") for _ in inputs]
        for p in params:
            body.add(shape, p)
        for _ in range(rng.randint(1, 4)):
            body.statement()
        if len(params) == 2 and set(params) <= set(body.unused):  # both inputs read
            merged = body.add(shape)
            body.emit(f"{merged} = {params[0]} - {params[1]}")
            body.read(params[0])
            body.read(params[1])
        outputs = body.unused or [next(reversed(body.shapes))]
        default = rng.random() < 0.5
        lines = [f"block {name}({width}, {flag}{'=2' if default else ''}) {{"]
        lines += [f"    input {p}" for p in params] + ["    " + line for line in body.lines]
        lines += [f"    output {', '.join(outputs)}", "}"]
        self.blocks.append("\n".join(lines))
        self.broken |= body.broken
        self.features |= body.features | {"block"}
        if len(params) > 1 or len(outputs) > 1:
            self.features.add("block with several inputs or outputs")
        value = body.width[1]
        for _ in range(rng.choice([1, 1, 2])):
            given = rng.randint(0, 4)
            forms = [f"{value}, {given}", f"{value}, {flag}={given}", f"{width}={value}, {flag}={given}"]
            forms += [f"{flag}={given}, {width}={value}"] + ([f"{value}", f"{width}={value}"] if default else [])
            args = rng.choice(forms)
            targets = [self.add(body.shapes[o]) for o in outputs]
            source = inputs[0] if len(inputs) == 1 else f"[{', '.join(inputs)}]"
            if rng.random() < 0.5:
                self.emit(f"{source} -> {name}({args}) -> {', '.join(targets)}")
            else:
                self.emit(f"{', '.join(targets)} = {name}({args})({', '.join(inputs)})")
        return None

    # -- statements that are wrong on purpose -----------------------------------------------

    def wrong(self) -> None:
        rng = self.rng
        a = self.pick()
        b = self.pick() or a
        t, u, n = self.names(), self.names(), self.names("n")
        line = rng.choice(
            [
                f"{t} = mean({a})",
                f"{t} = mean({a}, axis=0)",
                f"{t} = {a}[0]",
                f"{t} = {a}[:, 99]",
                f"{t} = {a}[:, :, :, :, :, :]",
                f"{t} = {a}[:, 0:0:0]",
                f"{t} = reshape({a})",
                f"{t} = reshape({a}, (5, 7))",
                f"{t} = concatenate({a}, {b})",
                f"{t} = concatenate([{a}, {b}])",
                f"{t} = stack([{a}, {b}], axis=0)",
                f'{t} = cast({a}, "float31")',
                f"{t} = frobnicate({a})",
                f"{t} = {a} + {b}",
                f"{t} = sigmoid(positions({a}))",
                f"{t} = ({a} > 0) + ({a} > 0)",
                f'{t} = softmax(cast({a}, "int32"), axis=-1)',
                f"{t} = {a}.dtype",
                f"{t} = {a}.shape",
                f"{a} -> Dense({a}) -> {t}",
                f"{t}, {u} = {a} * 2",
                f"{t}, {u} = LSTM(2, return_state=True)({a})",
                f"{a} -> LSTM(3)(initial_state=[{b}]) -> {t}",
                f"{a} -> Dense(2)(mask={a}) -> {t}",
                f"{a} -> Dense(2)(bogus=1) -> {t}",
                f"{t} = Dense(2)({a}, {b})",
                f"{t} = Dense(2)(2)",
                f"{t} = {a}(2)",
                f"{t} = MultiHeadAttention(num_heads=2, key_dim=2)({a}, {b}, attention_mask={a})",
                f"{t} = LSTM(2)({a}, initial_state=[{a}, {a}])",
                f"if {a} > 0 {{ {t} = {a} }} else {{ {t} = {b} }}",
                f"{n} = {a}.shape[7]\n{a} -> Dense({n}) -> {t}",
                f"{n} = {a}.shape[-1] // 0\n{a} -> Dense({n}) -> {t}",
                f"{n} = {a}.shape[-1] - 99\n{a} -> Dense({n}) -> {t}",
                f"{t} = undefined_name * 2",
                f"{t} = {a} @ {b}",
                f"{t} = {a} == {b} == {a}",
                f"{t} = matmul({a}, 2)",
                f"{t} = transpose({a})",
                f"{t} = expand_dims({a}, axis=0)",
                f"{t} = positions(3)",
                f"{t} = abs()",
                f"{t} = mean({a}, axis=-1, keepdims=2)",
                f"{t} = leaky_relu({a}, alpha=0.2)",
                f"{t} = max({a}, {b}, 3)",
                f"{t} = {a}[:, :1, ...,]",
                f"{t} = {a}[:, ...][..., ::-1]",
                f"{t} = {a} if {b} else {a}",
                f"{t} = -{a}.shape",
                f"{t} = not {a}.shape[-1]",
            ]
        )
        self.broken = True
        self.features.add("wrong")
        for part in line.split("\n"):
            self.emit(part)
        self.shapes[t] = self.shapes.get(a, (2,))
        self.unused.append(t)


def random_v2_model(rng: random.Random, hostile: bool = False, bad: float = 0.1) -> tuple:
    """A random model in language v2, with blocks: (text, broken, features). `hostile`: names
    drawn from V2_NAMES; `bad`: the chance of each statement being wrong on purpose (`broken`
    then says so; the other specs the generator expects to load)."""
    names = Names(rng, hostile)
    body = Body(rng, names, bad)
    lines = []
    for _ in range(rng.randint(1, 3)):
        shape = rng.choice(
            [(rng.randint(2, 6), rng.randint(1, 5)), (rng.randint(2, 6),), (2, rng.randint(2, 4), rng.randint(1, 3))]
        )
        name = names("x")
        body.add(shape, name)
        lines.append(f"    input {name}: [{', '.join(map(str, shape))}]")
    for _ in range(rng.randint(1, 6)):
        body.statement()
    outputs = body.unused or [next(reversed(body.shapes))]
    lines += ["    " + line for line in body.lines]
    lines.append(f"    output {', '.join(outputs)}")
    text = "\n\n".join(body.blocks + [f"model {names('M')} {{\n" + "\n".join(lines) + "\n}"]) + "\n"
    return text, body.broken, body.features


def generated(spec) -> dict:
    """style -> the module tfspec generates, for every style the spec allows."""
    from tfspec.backends import allowed_styles

    return {style: tfspec.generate(spec, style) for style in allowed_styles(spec)}


def v2_problems(text: str, check_source=None) -> tuple:
    """("ok", problems, modules) or ("error", [], 0) for one text: it loads, or raises a SpecError whose
    diagnostics point inside it (outcome's checks); what loads generates, in every style it
    allows, Python that compiles, the same twice over and from a second load of the text, and
    passes `check_source(source, style)` when one is given."""
    try:
        spec = tfspec.loads(text, "fuzz.tfs")
    except tfspec.SpecError as exc:
        assert_positioned(exc, text)
        return "error", [], 0
    problems = []
    modules = generated(spec)
    if generated(spec) != modules or generated(tfspec.loads(text, "fuzz.tfs")) != modules:
        problems.append("the generated code differs between two runs")
    for style, source in modules.items():
        try:
            compile(source, f"<{style}>", "exec")
        except SyntaxError as exc:
            problems.append(f"{style}: generated code is not Python: {exc.msg} in {exc.text!r}")
            continue
        if check_source is not None:
            try:
                check_source(source, style)
            except AssertionError as exc:
                problems.append(f"{style}: {exc}")
    return "ok", problems, len(modules)


def v2_campaign(
    count: int, seed: int = 0, hostile: bool = False, bad: float = 0.1, build: int = 0, check_source=None, keep: int = 5
):
    """Random v2 models (random_v2_model) through v2_problems, each within TIME_LIMIT; the
    first `build` accepted are built in Keras in every style (check_against_keras). Anything
    else than a clean outcome (another exception, a hang, a problem) is a failure, kept with
    its text. `features` counts the constructs of the accepted specs; `clean_refusals` holds
    specs the generator expected to load that tfspec refused, with the first diagnostic."""
    rng = random.Random(seed)
    counts = {"models": 0, "accepted": 0, "rejected": 0, "clean": 0, "clean_rejected": 0, "modules": 0, "built": 0}
    features: dict = {}
    failures, refusals = [], []
    for _ in range(count):
        text, broken, used = random_v2_model(rng, hostile, bad)
        counts["models"] += 1
        counts["clean"] += not broken
        try:
            with deadline(TIME_LIMIT):
                result, problems, modules = v2_problems(text, check_source)
        except (Exception, Hang) as exc:  # noqa: BLE001 - a traceback or a hang: kept with the text
            failures.append((text, f"{type(exc).__name__}: {exc}"))
            continue
        if result == "error":
            counts["rejected"] += 1
            if not broken:
                counts["clean_rejected"] += 1
                refusals.append((text, first_diagnostic(text)))
            continue
        counts["accepted"] += 1
        counts["modules"] += modules
        for feature in used:
            features[feature] = features.get(feature, 0) + 1
        if not problems and counts["built"] < build:
            counts["built"] += 1
            problems = check_against_keras(tfspec.loads(text, "fuzz.tfs"))
        if problems:
            failures.append((text, problems))
    counts["features"] = features
    counts["failures"] = failures[:keep]
    counts["failed"] = len(failures)
    counts["clean_refusals"] = refusals[:keep]
    return counts


def first_diagnostic(text: str) -> str:
    try:
        tfspec.loads(text, "fuzz.tfs")
    except tfspec.SpecError as exc:
        d = exc.diagnostics[0]
        return f"{d.code} {d.line}:{d.column} {d.message}"
    return ""


# -- text generated from the grammar ----------------------------------------------------------


def grammar_campaign(count: int, seed: int = 0) -> dict:
    import lark
    from hypothesis import HealthCheck, given, settings
    from hypothesis.extra.lark import from_lark

    from tfspec.frontend.parser import grammar_path

    grammar = lark.Lark.open(grammar_path(), parser="lalr", lexer="contextual")
    counts = {"inputs": 0, "loaded": 0, "rejected": 0}

    @settings(
        max_examples=count, database=None, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(from_lark(grammar, start="start", explicit={"NAME": _names()}))
    def run(text):
        counts["inputs"] += 1
        counts["loaded" if outcome(text) == "ok" else "rejected"] += 1

    run()
    return counts


def _names():
    from hypothesis import strategies as st

    words = [
        "x",
        "y",
        "a",
        "b",
        "Dense",
        "Conv2D",
        "Flatten",
        "Add",
        "LSTM",
        "Embedding",
        "Adam",
        "accuracy",
        "epochs",
        "batch",
        "loss",
        "optimizer",
        "probs",
        "filters",
        "units",
        "digits",
        "mnist",
        "class",
        # language v2: operations, block-time builtins, call arguments, attributes, `_`
        "abs",
        "mean",
        "max",
        "int",
        "positions",
        "cast",
        "shape",
        "axis",
        "initial_state",
        "mask",
        "attention_mask",
        "use_causal_mask",
        "return_state",
        "GRU",
        "MultiHeadAttention",
        "_",
    ]
    return st.one_of(st.sampled_from(words), st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,8}\Z"))


def import_campaign(count: int, seed: int = 0) -> dict:
    """Random v2 models (blocks, expressions, call arguments) built in the functional style and
    imported back, folded and flat: each import is the model again in every style it allows
    (parameters, outputs with the weights copied; NaN where the original has NaN), or a clean
    refusal (an ImportFailure naming what a spec cannot say)."""
    import numpy as np

    from tfspec.backends import allowed_styles
    from tfspec.tools.importer import ImportFailure, copy_weights, import_config

    rng = random.Random(seed)
    counts = {"models": 0, "round_trips": 0, "refused": 0, "failures": []}
    while counts["models"] < count:
        text, _, _ = random_v2_model(rng, bad=0.0)
        try:
            spec = tfspec.loads(text)
        except tfspec.SpecError:
            continue
        if "functional" not in allowed_styles(spec):
            continue
        counts["models"] += 1
        original = tfspec.build(spec, "functional")
        xs = [np.random.default_rng(0).standard_normal((2, *t.shape[1:])).astype(t.dtype) for t in original.inputs]
        x = xs[0] if len(xs) == 1 else xs
        expected = [np.asarray(t) for t in keras_list(original(x, training=False))]
        for flat in (False, True):
            try:
                imported = import_config(json.loads(original.to_json()), "model.keras", flat=flat)
            except ImportFailure:
                counts["refused"] += 1
                continue
            for style in allowed_styles(imported.spec):
                model = tfspec.build(imported.spec, style)
                copy_weights(original, imported.spec, model, style)
                got = [np.asarray(t) for t in keras_list(model(x, training=False))]
                same = model.count_params() == original.count_params() and all(
                    a.shape == b.shape and np.allclose(a, b, atol=1e-5, equal_nan=True) for a, b in zip(got, expected)
                )
                if same:
                    counts["round_trips"] += 1
                else:
                    counts["failures"].append((style, flat, text, imported.text))
    return counts


def keras_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def main() -> None:
    parser = argparse.ArgumentParser(description="tfspec fuzzing campaign")
    parser.add_argument("--count", type=int, default=20000, help="mutated specs (grammar: count/4)")
    parser.add_argument("--models", type=int, default=200, help="random legal models built in Keras")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    start = time.time()
    report = {
        "mutations": mutation_campaign(args.count, args.seed),
        "line_breaks": line_break_campaign(max(1, args.count // 10), args.seed),
        "grammar": grammar_campaign(max(1, args.count // 4), args.seed),
        "semantic": semantic_campaign(args.models, args.seed),
        "naming": naming_campaign(args.models, args.seed),
        # language v2: many generated and compiled, `--models` of them built in Keras
        "v2": v2_campaign(args.count // 4, args.seed, build=args.models),
        "v2_hostile": v2_campaign(args.count // 4, args.seed, hostile=True, build=args.models // 4),
        "import": {k: v for k, v in import_campaign(args.models // 4, args.seed).items() if k != "failures"},
    }
    report["unexpected_exceptions"] = 0  # any would have stopped the campaign with a traceback
    report["seconds"] = round(time.time() - start, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
