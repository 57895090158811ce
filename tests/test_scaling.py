"""Adversarial specs: no exponential blow-up, no RecursionError, an answer for every spec.

Blocks that each use the next one twice stand for a model of 2^n layers in a few hundred bytes;
block instances share their bodies (one per distinct block, arguments and input shapes), so
checking, summaries, parameter counts, the printers, the graph and the legality pass stay
linear in the text. Nesting is bounded (E309, at the offending use); so are block arguments that
grow as they are passed down, and the work of shaping distinct instances.

The generators below are also used by benchmarks/bench_check.py, which prints the timings.
Here each spec gets a generous subprocess timeout: the tests prove there is no hang and no
traceback, not a speed.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

import tfspec
import tfspec.frontend.fast
from tfspec.backends import generate
from tfspec.backends.legality import problems
from tfspec.check.quick_schema import fits_schema
from tfspec.check.schema import validate
from tfspec.ir.walk import MAX_BLOCK_DEPTH
from tfspec.summary import summary
from tfspec.tools.graph import to_dot

from .helpers import ROOT, SPECS
from .test_graph import parse as parse_dot

MIB = 1024 * 1024
TIMEOUT_S = 120  # per command: generous on a busy machine; a hang is what it catches


# -- generators -------------------------------------------------------------------------------------
def doubling(levels: int) -> str:
    """Block Bk applies B(k-1) twice: 2^(levels-1) Dense layers in a few hundred bytes."""
    out = ["block B0(u=4) {\n    input x\n    x -> Dense(u) -> y\n    output y\n}\n"]
    for i in range(1, levels):
        out.append(
            f"block B{i}(u=4) {{\n    input x\n    x -> B{i - 1}(u) -> a\n    a -> B{i - 1}(u) -> y\n    output y\n}}\n"
        )
    out.append(f"model M {{\n    input x: float32[4]\n    x -> B{levels - 1}() -> y\n    output y\n}}\n")
    return "".join(out)


def nested(levels: int, inner: str = "Dense(4)") -> str:
    """Block Bk uses B(k-1) once: blocks nested `levels` deep."""
    out = [f"block B0() {{\n    input x\n    x -> {inner} -> y\n    output y\n}}\n"]
    for i in range(1, levels):
        out.append(f"block B{i}() {{\n    input x\n    x -> B{i - 1}() -> y\n    output y\n}}\n")
    out.append(f"model M {{\n    input x: float32[4]\n    x -> B{levels - 1}() -> y\n    output y\n}}\n")
    return "".join(out)


def growing(levels: int, wrap: str = "[u, u]") -> str:
    """Block Bk passes `wrap` (built from its parameter u) to B(k-1): the argument grows."""
    out = ["block B0(u) {\n    input x\n    x -> Dense(4) -> y\n    output y\n}\n"]
    for i in range(1, levels):
        out.append(f"block B{i}(u) {{\n    input x\n    x -> B{i - 1}({wrap}) -> y\n    output y\n}}\n")
    out.append(f"model M {{\n    input x: float32[4]\n    x -> B{levels - 1}(1) -> y\n    output y\n}}\n")
    return "".join(out)


def new_shapes(levels: int) -> str:
    """Block Bk applies B(k-1) to inputs of three different widths: the distinct instances
    (one per input shape) multiply at every level."""
    out = ["block B0() {\n    input x\n    x -> Dense(2) -> y\n    output y\n}\n"]
    for i in range(1, levels):
        out.append(
            f"block B{i}() {{\n    input x\n    x -> B{i - 1}() -> a\n"
            f"    [x, x] -> Concatenate() -> B{i - 1}() -> b\n    x -> Dense(3) -> c\n"
            f"    [x, c] -> Concatenate() -> B{i - 1}() -> d\n    [a, b, d] -> Concatenate() -> y\n    output y\n}}\n"
        )
    out.append(f"model M {{\n    input x: float32[4]\n    x -> B{levels - 1}() -> y\n    output y\n}}\n")
    return "".join(out)


def fill(head: str, piece, tail: str, size: int = MIB - 4096) -> str:
    """head + piece(0) + piece(1) + ... + tail, as many pieces as fit in `size` bytes."""
    parts, total, i = [head], len(head) + len(tail), 0
    while True:
        text = piece(i)
        if total + len(text) > size:
            break
        parts.append(text)
        total += len(text)
        i += 1
    parts.append(tail)
    return "".join(parts)


def long_chains() -> str:
    """~1 MiB of chains, each from the previous chain's result."""
    text = fill(
        "model M {\n    input t0: float32[4]\n",
        lambda i: f"    t{i} -> Dense(4) -> Dropout(0.1) -> t{i + 1}\n",
        "",
    )
    last = text.count("-> Dropout")
    return text + f"    output t{last}\n}}\n"


def one_chain() -> str:
    """One chain statement of ~1 MiB: x -> Dense(4) -> Dense(4) -> ... -> y."""
    return fill("model M {\n    input x: float32[4]\n    x", lambda i: " -> Dense(4)", " -> y\n    output y\n}\n")


def wide() -> str:
    """~1 MiB of parallel branches from one input, merged by one Concatenate."""
    n = (MIB - 4096) // 60
    branches = "".join(f"    x -> Dense(2) -> b{i}\n" for i in range(n))
    merge = "[" + ", ".join(f"b{i}" for i in range(n)) + "]"
    return f"model M {{\n    input x: float32[4]\n{branches}    {merge} -> Concatenate() -> y\n    output y\n}}\n"


def many_blocks() -> str:
    """~1 MiB of distinct blocks, used one after another in chains of the model."""
    blocks = fill(
        "",
        lambda i: f"block K{i}(u={i % 7 + 1}) {{\n    input x\n    x -> Dense(u) -> y\n    output y\n}}\n",
        "",
        MIB // 2,
    )
    n = blocks.count("block ")
    uses = "".join(f"    t{i} -> K{i}() -> t{i + 1}\n" for i in range(n))
    return blocks + f"model M {{\n    input t0: float32[4]\n{uses}    output t{n}\n}}\n"


def many_instances() -> str:
    """10,000 uses of one block with 10,000 different arguments: as many distinct instances."""
    uses = "".join(f"    t{i} -> R({i % 9973 + 1}) -> t{i + 1}\n" for i in range(10_000))
    block = "block R(u) {\n    input x\n    x -> Dense(u) -> Dropout(0.1) -> Dense(4) -> y\n    output y\n}\n"
    return block + f"model M {{\n    input t0: float32[4]\n{uses}    output t10000\n}}\n"


def deep_nesting_1mib() -> str:
    """~1 MiB of blocks nested one inside the next (about 13,000 levels)."""
    body = fill(
        "block B0() {\n    input x\n    x -> Dense(4) -> y\n    output y\n}\n",
        lambda i: f"block B{i + 1}() {{ input x x -> B{i}() -> y output y }}\n",
        "",
        MIB - 200,
    )
    top = body.count("block ") - 1
    return body + f"model M {{ input x: float32[4] x -> B{top}() -> y output y }}\n"


def wide_full() -> str:
    """wide(), filling 1 MiB (its branches are about 30 bytes, not 60)."""
    n = (MIB - 4096) // 36
    branches = "".join(f"    x -> Dense(2) -> b{i}\n" for i in range(n))
    merge = "[" + ", ".join(f"b{i}" for i in range(n)) + "]"
    return f"model M {{\n    input x: float32[4]\n{branches}    {merge} -> Concatenate() -> y\n    output y\n}}\n"


# -- 1 MiB of mistakes: every error is worded, with its line and its hint, in time -------------------
def long_chains_with(step: str, last: str = "") -> str:
    """long_chains() with `step` as the second layer of each chain (and `last` before the end)."""
    text = fill("model M {\n    input t0: float32[4]\n", lambda i: f"    t{i} -> Dense(4) -> {step} -> t{i + 1}\n", "")
    return text + f"    output t{text.count(step)}{last}\n}}\n"


def unknown_layers() -> str:
    """A misspelt layer on every line (50 spellings): E401 with "did you mean" each time."""
    return fill(
        "model M {\n    input t0: float32[4]\n",
        lambda i: f"    t{i} -> Dens{i % 50}(4) -> t{i + 1}\n",
        "    output t0\n}\n",
    )


def undefined_sources() -> str:
    """30,000 chains from undefined tensors, among 30,000 defined ones (E301)."""
    return fill(
        "model M {\n    input x: float32[4]\n", lambda i: f"    u{i} -> Dense(4) -> t{i}\n", "    output x\n}\n"
    )


def unused_tensors() -> str:
    """30,000 results that nothing uses (E304)."""
    return fill("model M {\n    input x: float32[4]\n", lambda i: f"    x -> Dense(4) -> t{i}\n", "    output t0\n}\n")


def defined_twice() -> str:
    """The same result defined on every line (E302, with the line of the first definition)."""
    return fill("model M {\n    input x: float32[4]\n", lambda i: "    x -> Dense(4) -> t\n", "    output t\n}\n")


def reserved_names() -> str:
    """A reserved name on every line (E307)."""
    return fill("model M {\n    input x: float32[4]\n", lambda i: f"    x -> Dense(4) -> __t{i}\n", "    output x\n}\n")


def outputs_undefined() -> str:
    """One `output` line naming 100,000 undefined tensors (E301)."""
    n = (MIB - 100) // 9
    return (
        "model M {\n    input x: float32[4]\n    x -> Dense(4) -> y\n    output "
        + ", ".join(f"o{i}" for i in range(n))
        + "\n}\n"
    )


def huge_argument() -> str:
    """One argument of 1 MiB (E404 quotes it, shortened)."""
    n = (MIB - 200) // 9
    values = ", ".join(str(1000000 + i) for i in range(n))
    return f"model M {{\n    input x: float32[4]\n    x -> Dense(units=[{values}]) -> y\n    output y\n}}\n"


def one_line(last: str) -> str:
    """The whole spec on one line of 1 MiB, ending with `last`."""
    steps = " -> Dense(4)" * ((MIB - 200) // 12)
    return f"model M {{ input x: float32[4] x{steps}{last}\n"


def train_list() -> str:
    """A train section with a list of 50,000 unknown metrics (and no loss)."""
    n = (MIB - 100) // 14
    metrics = ", ".join(f"acuracy{i % 10}" for i in range(n))
    return f"model M {{\n    input x: float32[4]\n    x -> Dense(4) -> y\n    output y\n}}\ntrain {{\n    metrics = [{metrics}]\n}}\n"


def deep_value(depth: int) -> str:
    """An argument nested `depth` brackets deep (the call's own parentheses add one)."""
    value = "[" * depth + "1" + "]" * depth
    return f"model M {{\n    input x: float32[4]\n    x -> Dense(units={value}) -> y\n    output y\n}}\n"


# name -> (text factory, expected exit status, expected code or None)
ADVERSARIAL = {
    "doubling_16": (lambda: doubling(16), 0, None),
    "doubling_32": (lambda: doubling(MAX_BLOCK_DEPTH), 0, None),
    "doubling_40": (lambda: doubling(40), 1, "E309"),
    "nested_32": (lambda: nested(MAX_BLOCK_DEPTH), 0, None),
    "nested_33": (lambda: nested(MAX_BLOCK_DEPTH + 1), 1, "E309"),
    "nested_330": (lambda: nested(330), 1, "E309"),
    "nested_1000": (lambda: nested(1000), 1, "E309"),
    "nested_1mib": (deep_nesting_1mib, 1, "E309"),
    "growing_items": (lambda: growing(30), 1, "E309"),
    "growing_depth": (lambda: growing(30, "[[[[u]]]]"), 1, "E309"),
    "new_shapes": (lambda: new_shapes(30), 1, "E309"),
    "long_chains_1mib": (long_chains, 0, None),
    "one_chain_1mib": (one_chain, 0, None),
    "wide_1mib": (wide, 0, None),
    "many_blocks_1mib": (many_blocks, 0, None),
    "many_instances": (many_instances, 0, None),
    "deep_value_63": (lambda: deep_value(62), 1, "E404"),
    "deep_value_65": (lambda: deep_value(70), 1, "E104"),
    "wide_full_1mib": (wide_full, 0, None),
    "glued_keyword_1mib": (lambda: long_chains().replace("model M {", "modelM {"), 0, None),
    # 1 MiB of mistakes
    "syntax_error_at_end": (lambda: long_chains_with("Dropout(0.1)", " t1 ->"), 1, "E100"),
    "bad_character_at_end": (lambda: one_line(" -> y ? output y }"), 1, "E101"),
    "unclosed_at_end": (lambda: one_line(" -> y output y"), 1, "E102"),
    "bad_value_at_end": (lambda: huge_argument().replace("]) -> y", ",,]) -> y"), 1, "E100"),
    "schema_errors": (lambda: long_chains_with("Dropout(0.1) * 0"), 1, "E203"),
    "repeat_glued_to_name": (lambda: long_chains_with("Dropout(0.1) * 1e1"), 1, "E306"),
    "unknown_layers": (unknown_layers, 1, "E401"),
    "bad_arguments": (lambda: long_chains_with("Dropout(1.5)"), 1, "E405"),
    "duplicate_arguments": (lambda: long_chains_with("Dropout(rate=0.1, rate=0.2)"), 1, "E105"),
    "bad_escapes": (lambda: long_chains_with('Dropout(0.1, name="\\q")'), 1, "E106"),
    "shape_errors": (lambda: long_chains_with("Reshape((3,))"), 1, "E501"),
    "undefined_sources": (undefined_sources, 1, "E301"),
    "unused_tensors": (unused_tensors, 1, "E304"),
    "defined_twice": (defined_twice, 1, "E302"),
    "reserved_names": (reserved_names, 1, "E307"),
    "outputs_undefined": (outputs_undefined, 1, "E301"),
    "huge_argument": (huge_argument, 1, "E404"),
    "one_line_error": (lambda: one_line(" -> Dens(4) -> y output y }"), 1, "E401"),
    "train_list": (train_list, 1, "E602"),
}


def run_cli(*argv, timeout=TIMEOUT_S) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "tfspec", *argv], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env
    )


def assert_answer(done: subprocess.CompletedProcess, status: int, code: str | None) -> None:
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "RecursionError" not in output, output[-3000:]
    assert done.returncode == status, output[-3000:]
    if code is not None:
        assert f"error[{code}]" in output, output[-3000:]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("adversarial")
    paths = {}
    for name, (make, _, _) in ADVERSARIAL.items():
        text = make()
        assert len(text.encode()) <= MIB, name
        paths[name] = folder / f"{name}.tfs"
        paths[name].write_text(text, encoding="utf-8")
    return paths


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_check_answers_every_adversarial_spec(name, written):
    _, status, code = ADVERSARIAL[name]
    assert_answer(run_cli("check", str(written[name])), status, code)


@pytest.mark.parametrize("name", ["doubling_32", "nested_32", "nested_1000", "doubling_40", "new_shapes"])
@pytest.mark.parametrize(
    "command",
    [
        ("summary",),
        ("graph",),
        ("build", "--style", "functional"),
        ("build", "--style", "sequential"),
    ],
    ids=lambda c: "-".join(c),
)
def test_every_command_answers(name, command, written):
    """summary, graph and build give the result or a positioned error, never a hang or a traceback."""
    _, status, code = ADVERSARIAL[name]
    done = run_cli(*command, str(written[name]))
    if status == 0 and command[-1] == "sequential" and name == "doubling_32":
        assert_answer(done, 1, "E701")  # 2^31 layers written out: refused, with the figure
        assert "2,147,483,648 layers" in done.stderr
        return
    assert_answer(done, status, code)


@pytest.mark.parametrize(
    "name",
    [
        "doubling_32",
        "nested_32",
        "nested_1000",
    ],
)
def test_subclassing_build_answers(name, written):
    _, status, code = ADVERSARIAL[name]
    assert_answer(run_cli("build", "--style", "subclassing", str(written[name]), timeout=30), status, code)


# -- what the answers say ---------------------------------------------------------------------------
def test_doubling_is_checked_once_per_distinct_instance():
    spec = tfspec.loads(doubling(MAX_BLOCK_DEPTH))
    s = summary(spec)
    leaves = 2 ** (MAX_BLOCK_DEPTH - 1)
    assert s.total_params == leaves * (4 * 4 + 4)  # exact, from memoised totals
    assert s.layers == 2 * leaves - 1 + leaves  # block rows (2^32 - 1) and Dense rows (2^31)
    assert len(s.rows) < 200  # each distinct body listed once
    assert any(r.same_as for r in s.rows)
    assert "listed above" in s.render()
    # two uses of B(k-1) in Bk, one shared body each
    top = spec.model.layers[0]  # B31
    a, b = top.body.layers  # its two uses of B30 (two lines: two instances)
    assert a.body.layers[0].body is b.body.layers[0].body  # ... whose uses of B29 are one shared body
    dot = to_dot(spec)
    assert dot.count("\n") < 400 and "drawn above" in dot
    drawn = parse_dot(dot)
    assert all(tail in drawn["nodes"] and head in drawn["nodes"] for tail, head, _ in drawn["edges"])
    assert any(head == "output:y" for _, head, _ in drawn["edges"])


def test_check_reports_the_exact_layer_count(written):
    done = run_cli("check", str(written["doubling_16"]))
    assert "(model M: 98,303 layers" in done.stdout or "(model M: 98303 layers" in done.stdout, done.stdout


def test_summary_lists_everything_below_the_limit():
    s = summary(tfspec.loads(doubling(8)))
    assert s.layers == len([r for r in s.rows if r.kind != "InputLayer"]) == 2**7 + 2**8 - 1
    assert not any(r.same_as for r in s.rows)


def test_sequential_refuses_an_astronomical_inlining_at_the_block_use():
    text = doubling(MAX_BLOCK_DEPTH)
    found = problems(tfspec.loads(text), "sequential")
    assert [d.code for d in found] == ["E701"]
    assert (found[0].line, found[0].column) == (text.count("\n") - 2, 10)
    assert "functional" in found[0].hint
    assert problems(tfspec.loads(doubling(12)), "sequential") == []


def test_functional_source_is_as_small_as_the_spec():
    source = generate(tfspec.loads(doubling(MAX_BLOCK_DEPTH)), "functional")
    assert source.count("\ndef ") == MAX_BLOCK_DEPTH + 1  # one helper per block, and build_model


def test_nesting_error_points_at_the_use_past_the_limit():
    text = nested(1000)
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(text)
    (d,) = info.value.diagnostics
    assert d.code == "E309"
    use = f"x -> B{1000 - MAX_BLOCK_DEPTH - 1}() -> y"
    assert text.split("\n")[d.line - 1].strip() == use
    assert d.column == 10
    assert f"{MAX_BLOCK_DEPTH + 1} blocks deep" in d.message and "1000 deep" in d.message
    assert "chain" in d.hint


def test_growing_arguments_are_refused_where_they_outgrow_the_limit():
    for wrap, words in (("[u, u]", "values"), ("[[[[u]]]]", "brackets deep")):
        with pytest.raises(tfspec.SpecError) as info:
            tfspec.loads(growing(30, wrap))
        (d,) = info.value.diagnostics
        assert d.code == "E309" and words in d.message
    tfspec.loads(growing(10))  # 2^10 values: fine


def test_multiplying_instances_stop_at_the_work_limit():
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(new_shapes(30))
    assert [d.code for d in info.value.diagnostics] == ["E309"]
    tfspec.loads(new_shapes(8))


def test_errors_inside_shared_instances_are_reported_once_each():
    text = doubling(MAX_BLOCK_DEPTH).replace("x -> Dense(u) -> y", "x -> Dense(u) -> Reshape((3, 5)) -> y")
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(text)
    found = info.value.diagnostics
    assert {d.code for d in found} == {"E501"} and len(found) <= 3


def test_deep_values_are_refused_before_they_recurse():
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(deep_value(62))
    assert [d.code for d in info.value.diagnostics] == ["E404"]  # units must be an int; no recursion trouble
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(deep_value(70))
    assert [d.code for d in info.value.diagnostics] == ["E104"]
    with pytest.raises(tfspec.SpecError) as info:  # a schema error too: jsonschema walks the deep value
        tfspec.loads(deep_value(62).replace("-> y", "* 0 -> y"))
    assert [d.code for d in info.value.diagnostics] == ["E203"]


def test_deep_values_go_through_every_printer():
    """A block argument as deep as brackets may be written (63 in a call) is printed by every
    style, drawn and summarised (the printers recurse on values, to that bounded depth)."""
    value = "[" * 62 + "1" + "]" * 62
    text = (
        f"block B(u={value}) {{\n    input x\n    x -> Dense(4) -> y\n    output y\n}}\n"
        f"model M {{\n    input x: float32[4]\n    x -> B(u={value}) -> y\n    output y\n}}\n"
    )
    spec = tfspec.loads(text)
    for style in ("functional", "subclassing", "sequential"):
        source = generate(spec, style)
        compile(source, style, "exec")
    assert value in to_dot(spec) and summary(spec).total_params == 20


def test_keras_builds_subclassed_blocks_nested_to_the_limit():
    """The limit is chosen so that Keras builds and runs the deepest nesting in every style
    (subclassing nests one layer call per level; Keras recurses on it)."""
    pytest.importorskip("keras")
    np = pytest.importorskip("numpy")
    spec = tfspec.loads(nested(MAX_BLOCK_DEPTH, "Dense(4) -> BatchNormalization() -> Dropout(0.1)"))
    x = np.ones((2, 4), "float32")
    counts = set()
    for style in ("functional", "subclassing", "sequential"):
        model = tfspec.build(spec, style)
        assert model(x, training=True).shape == (2, 4)
        counts.add(model.count_params())
    assert counts == {summary(spec).total_params}


# -- the quick schema check never lets through what jsonschema refuses ---------------------------------
BAD_VALUES = [0, -1, 1001, 1.5, 2.0, True, None, "", "x y", "float99", [], {}, {"ref": "a b"}, [0], {"tuple": 1}]


def places_in(node) -> list:
    """(container, key or index) of every entry of a JSON-like value, without recursion."""
    places, stack = [], [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            places.extend((item, k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            places.extend((item, i) for i in range(len(item)))
            stack.extend(item)
    return places


def mutations(spec: dict, rng: random.Random, count: int):
    """Copies of `spec` with one leaf replaced, or a key dropped or added, somewhere."""
    text = json.dumps(spec)
    for _ in range(count):
        copy = json.loads(text)
        holder, key = rng.choice(places_in(copy))
        action = rng.random()
        if action < 0.7:
            holder[key] = rng.choice(BAD_VALUES)
        elif action < 0.85 and isinstance(holder, dict):
            del holder[key]
        elif isinstance(holder, dict):
            holder["extra_" + str(key)] = 1
        yield copy


@pytest.mark.parametrize("path", SPECS, ids=lambda p: os.path.basename(p))
def test_quick_schema_check_agrees_with_jsonschema(path):
    spec = tfspec.load(path).spec
    assert fits_schema(spec) and validate(spec, {}, path) == []
    rng = random.Random(os.path.basename(path))
    for mutated in mutations(spec, rng, 150):
        try:
            refused = validate(mutated, {}, path) != []
        except Exception:  # noqa: BLE001 - a structure the describer cannot word: jsonschema refused it
            refused = True
        if refused:
            assert not fits_schema(mutated), json.dumps(mutated)[:500]


# -- the schema pass words every error as jsonschema does, quickly ----------------------------------
def plain_validate(spec: dict, path: str) -> list:
    """tfspec.check.schema.validate as it was: plain jsonschema over the whole spec."""
    import jsonschema

    from tfspec.check import schema

    found = {}
    for error in jsonschema.validators.validator_for(schema.SCHEMA)(schema.SCHEMA).iter_errors(spec):
        if error.context:
            ranged = [c for c in error.context if c.validator in schema.RANGES]
            error = ranged[0] if ranged else jsonschema.exceptions.best_match([error])
        for diag in schema.describe(error, tuple(error.absolute_path), spec, {}, path):
            found.setdefault((diag.span.line, diag.span.column, diag.message), diag)
    return sorted(found.values(), key=lambda d: (d.span.line, d.span.column))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: os.path.basename(p))
def test_the_schema_pass_words_errors_as_plain_jsonschema(path):
    """validate() skips what the quick check accepts and validates each distinct failing value
    once: the same diagnostics as plain jsonschema, on specs with one to four mutations."""
    spec = tfspec.load(path).spec
    rng = random.Random("words " + os.path.basename(path))
    for mutated in mutations(spec, rng, 150):
        for _ in range(rng.randint(0, 3)):
            mutated = next(mutations(mutated, rng, 1))
        try:
            expected = plain_validate(mutated, path)
        except Exception as exc:  # noqa: BLE001 - a structure the describer cannot word
            expected = type(exc)
        try:
            found = validate(mutated, {}, path)
        except Exception as exc:  # noqa: BLE001
            found = type(exc)
        assert found == expected, json.dumps(mutated)[:500]


def test_thousands_of_schema_errors_are_each_worded():
    text = long_chains_with("Dropout(0.1) * 0")
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(text)
    found = info.value.diagnostics
    assert len(found) == text.count("* 0") and {d.code for d in found} == {"E203"}
    assert [d.line for d in found] == list(range(3, 3 + len(found)))
    small = "".join(text.splitlines(keepends=True)[:300]) + "    output t0\n}\n"
    spec = tfspec.frontend.fast.parse_fast(small, "<string>")[0]
    assert validate(spec, {}, "<string>") == plain_validate(spec, "<string>")


def test_every_error_of_a_megabyte_is_reported_and_hints_stop_at_their_budget():
    """Each of 30,000 undefined tensors is reported; "did you mean" compares names within a
    budget per check (tfspec.diagnostics.SUGGESTION_BUDGET), then the plain hint follows."""
    text = fill(
        "model M {\n    input x: float32[4]\n", lambda i: f"    a{i}x -> Dense(4) -> a{i}\n", "    output x\n}\n"
    )
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(text)
    found = info.value.diagnostics
    assert len(found) == text.count(" -> Dense(4) -> ") and {d.code for d in found} == {"E301"}
    assert found[0].hint.startswith("did you mean 'a0'")
    assert found[-1].hint == "a chain starts from an input or from the result of another chain"
    with pytest.raises(tfspec.SpecError) as info:  # the same mistake, once: its hint as ever
        tfspec.loads("model M {\n    input x: float32[4]\n    x -> Dense(4) -> t1\n    tt1 -> Dense(4) -> t2\n}\n")
    assert [d.hint for d in info.value.diagnostics if d.code == "E301"] == ["did you mean 't1'?"]
    with pytest.raises(tfspec.SpecError) as info:  # one misspelling repeated: every use gets its hint
        tfspec.loads(unknown_layers())
    assert all(d.hint and d.hint.startswith("did you mean") for d in info.value.diagnostics)
