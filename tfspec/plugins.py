"""Loading plugins: catalog entries for layers, losses, metrics and callbacks that Keras does not ship.

A plugin (tfspec.plugin.Plugin) comes from an installed package through the entry-point group
`tfspec.plugins`, loaded the first time the catalog is needed, or from a module named explicitly:
`tfspec --plugin MODULE ...`, the `TFSPEC_PLUGINS` environment variable (modules separated by
commas), or `tfspec.load_plugin("MODULE")` in Python. The spec text never names code to load.
`TFSPEC_NO_PLUGIN_AUTOLOAD=1` skips the entry points (explicit plugins still load).

Loading a plugin adds its entries to the catalogs (tfspec.ir.catalog.REGISTRY for layers,
tfspec.check.train_catalog for the rest), each marked with the plugin's name. It never imports
TensorFlow: a plugin whose catalog module pulls TensorFlow or Keras in is refused, since `check`,
`build`, `fmt` and the other compile commands must stay TensorFlow-free. The plugin's Keras module
(`Plugin.module`) is imported by generated code (`import <module> as <name>`), the runtime and the
importer only (`keras_class`).
"""

from __future__ import annotations

import importlib
import keyword
import os
import re
import sys
from dataclasses import dataclass

from .plugin import Callback, Layer, Loss, Metric, Plugin

GROUP = "tfspec.plugins"
NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
CLASS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
# Names generated code takes for itself: a plugin may not be imported under one of them.
RESERVED = frozenset({"keras", "layers", "ops", "np", "tf", "tfspec", "self", "config", "training", "inputs"})


class PluginError(Exception):
    """A plugin cannot be loaded (a usage error: exit 2, one line)."""


@dataclass(frozen=True)
class Loaded:
    plugin: Plugin
    source: str  # "entry point NAME (DIST)" or "module NAME"


LOADED: dict[str, Loaded] = {}  # plugin name -> what was loaded
_STATE = {"autoloaded": False}


def loaded_text() -> str:
    """`plugins loaded: a, b` or `no plugins loaded`, for hints."""
    if not LOADED:
        return "no plugins loaded"
    return "plugins loaded: " + ", ".join(LOADED)


def autoload() -> None:
    """Load the installed plugins (entry points) and those of TFSPEC_PLUGINS, once per process."""
    if _STATE["autoloaded"]:
        return
    _STATE["autoloaded"] = True
    if not os.environ.get("TFSPEC_NO_PLUGIN_AUTOLOAD"):
        from importlib.metadata import entry_points

        for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
            dist = getattr(point.dist, "name", None)
            where = f"entry point {point.name!r}" + (f" of {dist}" if dist else "")
            try:
                found = _guarded(point.load, where)
            except PluginError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of a third-party import
                raise PluginError(f"{where} ({point.value}) cannot be loaded: {type(exc).__name__}: {exc}") from None
            register(_as_plugin(found, where), where)
    for name in filter(None, (m.strip() for m in os.environ.get("TFSPEC_PLUGINS", "").split(","))):
        load_plugin(name)


def load_plugin(target: str) -> Plugin:
    """Load the plugin in module `target` (its `PLUGIN`, or `module:attribute`); a plugin already
    loaded is not loaded again. Returns it."""
    module_name, _, attribute = str(target).partition(":")
    if not MODULE.match(module_name) or (attribute and not CLASS_NAME.match(attribute.replace(".", "_"))):
        raise PluginError(f"{target!r} is not a module name (write e.g. mypackage.tfspec_plugin)")
    where = f"module {target!r}"
    for item in LOADED.values():
        if item.source == where:
            return item.plugin
    try:
        module = _guarded(lambda: importlib.import_module(module_name), where)
    except PluginError:
        raise
    except ImportError as exc:
        raise PluginError(f"plugin module {module_name!r} cannot be imported: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a third-party module failing at import
        raise PluginError(
            f"plugin module {module_name!r} failed while importing: {type(exc).__name__}: {exc}"
        ) from None
    found = module
    for part in (attribute or "PLUGIN").split("."):
        found = getattr(found, part, None)
        if found is None:
            raise PluginError(
                f"plugin module {module_name!r} has no {attribute or 'PLUGIN'} "
                "(a tfspec.plugin.Plugin, or a function that returns one)"
            ) from None
    plugin = _as_plugin(found, where)
    register(plugin, where)
    return plugin


def _guarded(load, where):
    """Run `load` and refuse it if it imported TensorFlow or Keras (the compile path must not)."""
    before = {m for m in ("tensorflow", "keras") if m in sys.modules}
    result = load()
    pulled = [m for m in ("tensorflow", "keras") if m in sys.modules and m not in before]
    if pulled:
        raise PluginError(
            f"{where} imported {pulled[0]} while loading its catalog; keep Keras imports in the "
            "plugin's Keras module (Plugin.module), which only generated code and the runtime import"
        )
    return result


def _as_plugin(found, where) -> Plugin:
    if callable(found) and not isinstance(found, Plugin):
        found = found()
    if not isinstance(found, Plugin):
        raise PluginError(f"{where} is not a tfspec.plugin.Plugin (got {type(found).__name__})")
    return found


def register(plugin: Plugin, where: str = "") -> None:
    """Add a plugin's entries to the catalogs, after checking them all (nothing is added if one is wrong).
    The same plugin reached twice (named with --plugin and installed too) is added once."""
    same = LOADED.get(plugin.name)
    if same is not None and same.plugin == plugin:
        return
    problem = _problem(plugin)
    if problem:
        raise PluginError(f"plugin {plugin.name!r} ({where or plugin.module}): {problem}")
    from .check import train_catalog
    from .ir.catalog import layer

    for entry in plugin.layers:
        layer(
            entry.name,
            args=entry.args,
            shape=entry.shape,
            params=entry.params,
            inputs=entry.inputs,
            training=entry.training,
            doc=entry.doc,
            check=entry.check,
            positional_inputs=entry.positional_inputs,
            call_args=entry.call_args,
            call_rule=entry.call_rule,
            dtype=entry.dtype,
            plugin=plugin.name,
        )
    # Like Keras's own: every loss takes `reduction`, every metric the `name` it is logged under.
    common = {"loss": train_catalog.LOSS_COMMON, "metric": (train_catalog.METRIC_NAME,), "callback": ()}
    for kind, entries in plugin.train_entries():
        for entry in entries:
            own = tuple(entry.args)
            args = own + tuple(a for a in common[kind] if a.name not in {x.name for x in own})
            train_catalog.add_entry(train_catalog.Entry(kind, entry.name, args, entry.doc, plugin=plugin.name))
    LOADED[plugin.name] = Loaded(plugin, where)


def _problem(plugin: Plugin) -> str | None:
    """What is wrong with a plugin before any of it is registered, or None."""
    from .check import train_catalog
    from .ir.catalog import ALIASES, REGISTRY, Arg, Type
    from .ir.ops import OPS

    if not isinstance(plugin.name, str) or not NAME.match(plugin.name) or keyword.iskeyword(plugin.name):
        return "its name must be a lower-case Python name (generated code imports its module under it)"
    if plugin.name in RESERVED:
        return f"its name {plugin.name!r} is taken by generated code (one of {', '.join(sorted(RESERVED))})"
    if plugin.name in LOADED:
        return f"a plugin named {plugin.name!r} is loaded already ({LOADED[plugin.name].source})"
    if not isinstance(plugin.module, str) or not MODULE.match(plugin.module):
        return f"module {plugin.module!r} is not a module name"
    seen = set()
    classes = {"layer": Layer, "loss": Loss, "metric": Metric, "callback": Callback}
    for kind, entries in (("layer", plugin.layers), *plugin.train_entries()):
        cls = classes[kind]
        for entry in entries:
            if not isinstance(entry, cls):
                return f"its {kind}s must be tfspec.plugin.{cls.__name__} entries, got {type(entry).__name__}"
            if not isinstance(entry.name, str) or not CLASS_NAME.match(entry.name):
                return f"{kind} name {entry.name!r} is not a class name"
            if (kind, entry.name) in seen:
                return f"it lists {kind} {entry.name!r} twice"
            seen.add((kind, entry.name))
            if kind == "layer":
                if entry.name in REGISTRY or entry.name in ALIASES:
                    owner = REGISTRY.get(entry.name)
                    by = f"plugin {owner.plugin!r}" if owner is not None and owner.plugin else "the built-in catalog"
                    return f"layer {entry.name!r} is in {by} already"
                if entry.name in OPS:
                    return f"layer {entry.name!r} is named like the tensor operation {entry.name}()"
                if not callable(entry.shape) or not callable(entry.params):
                    return f"layer {entry.name!r}: shape and params must be functions"
                if entry.dtype is not None and not callable(entry.dtype):
                    return f"layer {entry.name!r}: dtype must be a function or None"
                for arg in entry.args:
                    if not isinstance(arg, Arg) or not isinstance(arg.type, Type):
                        return f"layer {entry.name!r}: its args must be tfspec.plugin.Arg(name, TYPE, ...)"
            else:
                if train_catalog.lookup(kind, entry.name) is not None:
                    return f"{kind} {entry.name!r} is in the catalog already"
                for arg in entry.args:
                    if not isinstance(arg, train_catalog.Arg):
                        return f"{kind} {entry.name!r}: its args must be tfspec.plugin.Setting(...)"
    return None


def unload(name: str) -> None:
    """Take a loaded plugin's entries out of the catalogs again (tests; a long-lived process that
    reloads its plugins). Unknown names are ignored."""
    item = LOADED.pop(name, None)
    if item is None:
        return
    from .check import train_catalog
    from .ir.catalog import REGISTRY

    for entry in item.plugin.layers:
        REGISTRY.pop(entry.name, None)
    for kind, entries in item.plugin.train_entries():
        for entry in entries:
            train_catalog.ENTRIES[kind].pop(entry.name, None)


def plugin_of(name: str) -> Plugin | None:
    item = LOADED.get(name)
    return item.plugin if item else None


def provides(module: str, class_name: str) -> bool:
    """Whether a loaded plugin's Keras module `module` holds layer class `class_name` (a layer of a
    saved model that `tfspec import` may take: the class is the installed plugin's, not the file's)."""
    return any(
        item.plugin.module == module and any(entry.name == class_name for entry in item.plugin.layers)
        for item in LOADED.values()
    )


def keras_class(kind: str, name: str):
    """The Python class of catalog entry `name` of `kind` ("layer", "loss", "metric",
    "callback"): from its plugin's module, or None for a built-in entry (the caller knows where
    Keras keeps those). Imports the plugin's Keras module: not for the compile path."""
    owner = None
    if kind == "layer":
        from .ir.catalog import lookup

        definition = lookup(name)
        owner = definition.plugin if definition is not None else None
    else:
        from .check import train_catalog

        entry = train_catalog.lookup(kind, name)
        owner = entry.plugin if entry is not None else None
    if owner is None:
        return None
    plugin = LOADED[owner].plugin
    try:
        module = importlib.import_module(plugin.module)
    except ImportError as exc:
        raise PluginError(
            f"plugin {plugin.name!r}: its Keras module {plugin.module!r} cannot be imported: {exc}"
        ) from None
    cls = getattr(module, name, None)
    if cls is None:
        raise PluginError(f"plugin {plugin.name!r}: module {plugin.module!r} has no class {name!r}")
    return cls
