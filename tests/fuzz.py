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
            tfspec.loads(text, "fuzz.tfs")
            return "ok"
        except tfspec.SpecError as exc:
            lines = (source.count("\n") + 2) if source is not None else 10**9
            for d in exc.diagnostics:
                assert d.path == "fuzz.tfs", d
                assert 1 <= d.line <= lines and d.column >= 1, (d, len(source or ""))
                assert d.code.startswith("E") and d.message
            exc.render()
            return "error"


# -- mutations of the example specs ---------------------------------------------------------


def mutations(rng: random.Random, text: str):
    data = text.encode("utf-8")
    lines = text.splitlines(keepends=True)
    kind = rng.choice(["flip", "truncate", "swap", "duplicate", "delete", "insert", "splice"])
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
        "grammar": grammar_campaign(max(1, args.count // 4), args.seed),
        "semantic": semantic_campaign(args.models, args.seed),
    }
    report["unexpected_exceptions"] = 0  # any would have stopped the campaign with a traceback
    report["seconds"] = round(time.time() - start, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
