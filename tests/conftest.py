"""Settings of the test session.

The example plugin (plugins/tfspec-example) is part of this repository and specs/vae.tfs uses
it, so every test process loads it, and only it: installed plugins do not load by themselves
here (TFSPEC_NO_PLUGIN_AUTOLOAD), and subprocesses inherit TFSPEC_PLUGINS and a PYTHONPATH that
finds it even where it is not installed. Tests of the built-in catalog against Keras skip the
entries of plugins (`definition.plugin`); `no_plugins` takes it out for one test.
"""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE_PLUGIN = os.path.join(ROOT, "plugins", "tfspec-example")
EXAMPLE_MODULE = "tfspec_example.catalog"

os.environ["TFSPEC_NO_PLUGIN_AUTOLOAD"] = "1"
os.environ["TFSPEC_PLUGINS"] = EXAMPLE_MODULE
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), EXAMPLE_PLUGIN) if p)
if EXAMPLE_PLUGIN not in sys.path:
    sys.path.append(EXAMPLE_PLUGIN)


@pytest.fixture
def example_plugin():
    """The example plugin, loaded (it is for the whole session; this says a test needs it)."""
    from tfspec import plugins

    plugins.autoload()
    return plugins.load_plugin(EXAMPLE_MODULE)


@pytest.fixture
def no_plugins():
    """No plugin in the catalogs for one test; the example plugin comes back afterwards."""
    from tfspec import plugins

    plugins.autoload()
    names = list(plugins.LOADED)
    for name in names:
        plugins.unload(name)
    try:
        yield
    finally:
        plugins.load_plugin(EXAMPLE_MODULE)
