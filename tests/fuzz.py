"""Fuzzing tfspec: grammar-generated text, mutated specs, and random legal models.

Used by tests/test_fuzz.py (a bounded run in CI) and by `make fuzz`
(`python -m tests.fuzz --count N`, a longer campaign that prints the counts as JSON).

Every input must either load or raise tfspec.SpecError whose diagnostics point inside the
text; anything else (another exception, a hang) is a failure. Random legal models that
`check` accepts must build in every style they allow, with the static summary equal to
Keras's parameter counts and output shapes.
"""

from __future__ import annotations

import argparse
import glob
import json
import keyword
import os
import random
import signal
import time
from contextlib import contextmanager

import tfspec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = sorted(glob.glob(os.path.join(ROOT, "specs", "*.tfs")))
TIME_LIMIT = 5  # seconds one input may take before it counts as a hang


class Hang(Exception):
    pass


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
            lines = line_count(source) + 1 if source is not None else 10**9
            for d in exc.diagnostics:
                assert d.path == "fuzz.tfs", d
                assert 1 <= d.line <= lines and d.column >= 1, (d, len(source or ""))
                assert d.code.startswith("E") and d.message
            exc.render()
            return "error"
        problems = check_generated(spec, build=False)
        assert not problems, problems
        return "ok"


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
        shapes = [tuple(t.shape[1:]) for t in (model.outputs if style != "subclassing" else [])]
        want = [tuple(spec.model.shapes[o]) for o in spec.model.outputs]
        if shapes and shapes != want:
            problems.append(f"{style}: output shapes {shapes} != static {want}")
    return problems


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
    ]
    return st.one_of(st.sampled_from(words), st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,8}\Z"))


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
    }
    report["unexpected_exceptions"] = 0  # any would have stopped the campaign with a traceback
    report["seconds"] = round(time.time() - start, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
