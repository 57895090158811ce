"""Plugins: catalog entries from outside tfspec, checked, printed and trained like built-in ones.

The example plugin (plugins/tfspec-example) is loaded explicitly here (tests/conftest.py keeps
installed plugins from loading by themselves); tests/test_packaging.py installs it into a fresh
virtual environment and finds it through its entry point.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import tfspec
from tfspec import plugins
from tfspec.ir.catalog import REGISTRY
from tfspec.plugin import Arg, Layer, Loss, Plugin

from .conftest import EXAMPLE_PLUGIN
from .helpers import ROOT

MODEL = """
model Tiny {
    input x: float32[8]
    x -> Linear(4) -> ActivitySparsity(0.5) -> h
    m = h * 0.5
    [h, m] -> Sampling(seed=3) -> z
    z -> Dense(1, activation="sigmoid") -> y
    output y
}
"""
TRAIN = """
train {
    optimizer = Adam(1e-2)
    loss = SummedBinaryCrossentropy()
    metrics = [BinaryTruePositives(threshold=0.4)]
    callbacks = [StopAtLoss(1e9)]
    epochs = 5
    batch = 16
}
"""


def errors_of(text):
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(text)
    return info.value.diagnostics


# -- the catalog -----------------------------------------------------------------------------------


def test_without_the_plugin_its_names_are_unknown_and_the_hint_says_none_is_loaded(no_plugins):
    found = errors_of(MODEL + TRAIN)
    codes = [(d.code, d.message) for d in found]
    assert ("E401", "unknown layer 'Linear'") in codes
    assert ("E401", "unknown layer 'Sampling'") in codes
    assert ("E601", "unknown loss 'SummedBinaryCrossentropy'") in codes
    sampling = next(d for d in found if d.message == "unknown layer 'Sampling'")
    assert sampling.hint.endswith("(no plugins loaded)") and "did you mean" in sampling.hint
    linear = next(d for d in found if d.message == "unknown layer 'Linear'")
    assert linear.hint.startswith("no plugins loaded: a layer from a plugin needs")


def test_with_the_plugin_a_spec_checks_with_its_shapes_and_parameters(example_plugin):
    spec = tfspec.loads(MODEL + TRAIN)
    summary = tfspec.summary(spec)
    assert summary.total_params == (8 * 4 + 4) + (4 + 1)
    assert spec.model.shapes["z"] == (4,)
    found = errors_of(MODEL.replace("Dense(1,", "Densse(1,"))
    assert found[0].hint.endswith("(plugins loaded: example)")


def test_a_plugin_shape_rule_speaks_like_a_built_in_one(example_plugin):
    text = MODEL.replace("m = h * 0.5", "x -> Dense(3) -> m")
    (d,) = errors_of(text)
    assert d.code == "E501" and "Sampling needs z_mean and z_log_var of the same shape, got (4,) and (3,)" in d.message
    assert d.hint.startswith("make both with the same layer")
    assert (d.line, d.column) == (6, 15)


def test_plugin_arguments_are_checked(example_plugin):
    (d,) = errors_of(MODEL.replace("Linear(4)", "Linear(0)"))
    assert d.code == "E405" and "Linear: units must be ≥ 1" in d.message
    (d,) = errors_of(MODEL.replace("Sampling(seed=3)", "Sampling(sed=3)"))
    assert d.code == "E402" and d.hint == "did you mean 'seed'?"
    (d,) = errors_of(MODEL + TRAIN.replace("StopAtLoss(1e9)", "StopAtLoss()"))
    assert d.code == "E403" and "StopAtLoss needs 'threshold'" in d.message


def test_explain_and_the_lexer_see_plugin_entries(example_plugin):
    from pygments.token import Name

    from tfspec.check import train_catalog
    from tfspec.ir.explain import describe
    from tfspec.tools.lexer import TfspecLexer

    text = describe("Sampling")
    assert "From the plugin `example` (Keras class in `tfspec_example.layers`)" in text
    assert "`seed`" in text
    (entry,) = train_catalog.find("StopAtLoss")
    assert "From the plugin `example`" in train_catalog.describe(entry)
    tokens = list(TfspecLexer().get_tokens("x -> Sampling() -> z"))
    assert (Name.Builtin, "Sampling") in tokens


def test_the_catalog_for_editors_lists_plugin_entries(example_plugin):
    import json

    from tfspec.tools.schema_cmd import catalog, catalog_text

    found = catalog()
    sampling = found["layers"]["Sampling"]
    assert sampling["plugin"] == "example" and sampling["inputs"] == [2, 2]
    assert sampling["arguments"][0] == {
        "name": "seed",
        "type": "seed (None or an integer)",
        "required": False,
        "default": None,
    }
    assert found["layers"]["Dense"]["plugin"] is None
    assert found["train"]["callback"]["StopAtLoss"]["arguments"][0] == {
        "name": "threshold",
        "type": "a number",
        "required": True,
    }
    assert "reduction" in [a["name"] for a in found["train"]["loss"]["SummedBinaryCrossentropy"]["arguments"]]
    assert json.loads(catalog_text()) == json.loads(json.dumps(found)) and catalog_text() == catalog_text()
    result = run_cli("--plugin", "tfspec_example.catalog", "schema", "--catalog")
    assert result.returncode == 0 and json.loads(result.stdout)["layers"]["Linear"]["plugin"] == "example"


def test_unloading_takes_the_entries_out_again(no_plugins):
    assert "Sampling" not in REGISTRY and plugins.loaded_text() == "no plugins loaded"
    errors_of(MODEL)
    plugins.load_plugin("tfspec_example.catalog")
    assert "Sampling" in REGISTRY and plugins.loaded_text() == "plugins loaded: example"
    tfspec.loads(MODEL)
    plugins.unload("example")
    assert "Sampling" not in REGISTRY


def test_generated_code_imports_the_plugin_module_under_its_name(example_plugin):
    spec = tfspec.loads(
        MODEL.replace("-> h\n", "-> example\n").replace("h * 0.5", "example * 0.5").replace("[h,", "[example,")
    )
    for style in ("functional", "subclassing"):
        source = tfspec.generate(spec, style)
        assert "\nimport tfspec_example.layers as example\n" in source
        assert "example.Sampling(seed=3)" in source and "example.Linear(4)" in source
        assert "\nexample = " not in source and " example = " not in source  # the tensor is renamed
        compile(source, style, "exec")
    plain = tfspec.loads("model P { input x: [4] x -> Dense(2) -> y output y }")
    assert "tfspec_example" not in tfspec.generate(plain, "functional")


def test_a_plugin_layer_nested_in_a_wrapper_is_imported_too(example_plugin):
    spec = tfspec.loads("model W { input x: [5, 3] x -> TimeDistributed(Linear(2)) -> y output y }")
    source = tfspec.generate(spec, "functional")
    assert "import tfspec_example.layers as example" in source
    assert "layers.TimeDistributed(example.Linear(2))" in source
    assert spec.model.shapes["y"] == (5, 2)


# -- plugins that are wrong --------------------------------------------------------------------------


def bad_plugin(**changes):
    fields = dict(name="bad", module="bad_keras", layers=(Layer("Twice", args=(Arg("n", tfspec.plugin.INT, 1),)),))
    fields.update(changes)
    return Plugin(**fields)


@pytest.mark.parametrize(
    "changes,problem",
    [
        ({"name": "Bad"}, "its name must be a lower-case Python name"),
        ({"name": "layers"}, "its name 'layers' is taken by generated code"),
        ({"module": "not a module"}, "module 'not a module' is not a module name"),
        ({"layers": (Layer("Dense"),)}, "layer 'Dense' is in the built-in catalog already"),
        ({"layers": (Layer("mean"),)}, "named like the tensor operation mean()"),
        ({"layers": (Layer("A"), Layer("A"))}, "it lists layer 'A' twice"),
        ({"layers": (Layer("A", args=("units",)),)}, "its args must be tfspec.plugin.Arg"),
        ({"losses": (Loss("mse"),)}, "loss 'mse' is in the catalog already"),
        ({"layers": (Loss("A"),)}, "its layers must be tfspec.plugin.Layer entries"),
    ],
)
def test_a_wrong_plugin_is_refused_whole(changes, problem):
    before = dict(REGISTRY)
    with pytest.raises(plugins.PluginError) as info:
        plugins.register(bad_plugin(**changes), "a test")
    assert problem in str(info.value) and str(info.value).startswith("plugin ")
    assert REGISTRY == before and "bad" not in plugins.LOADED


def test_two_plugins_may_not_both_define_a_layer(example_plugin):
    with pytest.raises(plugins.PluginError, match="layer 'Linear' is in plugin 'example' already"):
        plugins.register(bad_plugin(layers=(Layer("Linear"),)), "a test")


def run_cli(*args, env_extra=None, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, EXAMPLE_PLUGIN]), TFSPEC_NO_PLUGIN_AUTOLOAD="1")
    env.pop("TFSPEC_PLUGINS", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "tfspec", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def test_the_command_line_loads_a_plugin_before_or_after_the_command(tmp_path):
    spec = tmp_path / "tiny.tfs"
    spec.write_text(MODEL + TRAIN, encoding="utf-8")
    assert run_cli("check", str(spec)).returncode == 1
    for args in (
        ("--plugin", "tfspec_example.catalog", "check", str(spec)),
        ("check", str(spec), "--plugin=tfspec_example.catalog"),
    ):
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr
        assert result.stdout.endswith("ok (model Tiny: 5 layers, 41 parameters)\n")
    by_env = run_cli("check", str(spec), env_extra={"TFSPEC_PLUGINS": "tfspec_example.catalog"})
    assert by_env.returncode == 0, by_env.stderr


@pytest.mark.parametrize(
    "module,message",
    [
        ("no_such_plugin_module", "tfspec: error: plugin module 'no_such_plugin_module' cannot be imported"),
        ("tfspec_example", "tfspec: error: plugin module 'tfspec_example' has no PLUGIN"),
        ("a b", "tfspec: error: 'a b' is not a module name"),
    ],
)
def test_a_plugin_that_cannot_load_is_a_one_line_usage_error(module, message, tmp_path):
    spec = tmp_path / "p.tfs"
    spec.write_text("model P { input x: [4] x -> Dense(2) -> y output y }\n", encoding="utf-8")
    result = run_cli("--plugin", module, "check", str(spec))
    assert result.returncode == 2 and result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_a_plugin_catalog_that_imports_keras_is_refused(tmp_path):
    (tmp_path / "heavy_plugin.py").write_text(
        textwrap.dedent("""
            import keras  # noqa: F401  (the mistake: the catalog must stay TensorFlow-free)
            from tfspec.plugin import Layer, Plugin
            PLUGIN = Plugin(name="heavy", module="heavy_plugin", layers=(Layer("Heavy"),))
        """),
        encoding="utf-8",
    )
    spec = tmp_path / "p.tfs"
    spec.write_text("model P { input x: [4] x -> Dense(2) -> y output y }\n", encoding="utf-8")
    env = {"PYTHONPATH": os.pathsep.join([ROOT, str(tmp_path)])}
    result = run_cli("--plugin", "heavy_plugin", "check", str(spec), env_extra=env)
    assert result.returncode == 2
    last = result.stderr.splitlines()[-1]
    assert last.startswith("tfspec: error: module 'heavy_plugin' imported ")
    assert "while loading its catalog; keep Keras imports in the plugin's Keras module" in last


def test_checking_with_a_plugin_never_imports_tensorflow(tmp_path):
    spec = tmp_path / "tiny.tfs"
    spec.write_text(MODEL + TRAIN, encoding="utf-8")
    code = textwrap.dedent(f"""
        import sys, tfspec
        tfspec.load_plugin("tfspec_example.catalog")
        spec = tfspec.load({str(spec)!r})
        tfspec.summary(spec).render()
        for style in ("functional", "subclassing"):
            tfspec.generate(spec, style)
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules, sorted(sys.modules)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, EXAMPLE_PLUGIN]), TFSPEC_NO_PLUGIN_AUTOLOAD="1")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_plugin_layer_can_say_what_dtypes_it_takes_and_makes():
    def count_dtype(dtypes, a):
        if dtypes[0] != "string":
            raise tfspec.plugin.ShapeError(f"CharCount counts the characters of strings, got {dtypes[0]}", code="E504")
        return "int64"

    texty = Plugin(
        name="texty",
        module="texty_keras",
        layers=(Layer("CharCount", shape=lambda ins, a: ins[0], dtype=count_dtype),),
    )
    plugins.register(texty, "a test")
    try:
        spec = tfspec.loads("model T { input t: string[] t -> CharCount() -> n output n }")
        assert spec.model.dtypes["n"] == "int64"
        (d,) = errors_of("model T { input x: float32[3] x -> CharCount() -> n output n }")
        assert d.code == "E504" and "counts the characters of strings" in d.message
        doubled = tfspec.loads("model T { input t: string[3] t -> CharCount() -> n m = n * 2 output m }")
        assert doubled.model.dtypes["m"] == "int64"  # the operation takes the plugin's dtype on
    finally:
        plugins.unload("texty")


def test_keras_names_of_plugin_layers_are_reserved_like_built_in_ones(example_plugin):
    """Keras names a Linear layer `linear`, `linear_1`...: a spec name of that form moves the counter."""
    spec = tfspec.loads('model N { input x: [4] x -> Dense(4, name="linear_2") -> Linear(2) -> y output y }')
    assert 'keras.backend.get_uid("linear") <= 2' in tfspec.generate(spec, "functional")
