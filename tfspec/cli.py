"""The `tfspec` command. Spec errors exit 1, usage errors 2; never a traceback for bad input.

TensorFlow is imported only inside the commands that need a live model (train, evaluate,
predict, import, export), never at module level; without it they say how to install it (exit 2),
and its start-up log lines are filtered by TF_CPP_MIN_LOG_LEVEL (default here 2: errors only).
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module

from .diagnostics import SpecError, clean


class UsageError(Exception):
    """Bad command-line use (exit 2)."""


def cmd_check(args) -> int:
    from .loader import load
    from .summary import summary

    status = 0
    for path in args.files:
        try:
            spec = load(path)
        except SpecError as exc:
            print(exc.render(), file=sys.stderr)
            status = 1
            continue
        s = summary(spec)
        layers = s.layers
        if not args.quiet:
            searched = ""
            if spec.space is not None:
                n, points = len(spec.space.hypers), len(spec.space.check_points())
                searched = (
                    f" at the default point; search: {n} hyperparameter{'s' if n != 1 else ''}, {points} points checked"
                )
            print(
                f"{clean(path)}: ok (model {spec.name}: {layers} layer{'s' if layers != 1 else ''}, "
                f"{s.total_params:,} parameters{searched})"
            )
    return status


def cmd_summary(args) -> int:
    from .loader import load
    from .search.space import show_point
    from .summary import summary

    spec = load(args.file)
    print(summary(spec).render())
    if spec.space is not None:
        from .search.measure import param_range

        print(f"\nSearch space: the layers above are at the default point ({show_point(spec.point)})")
        span = param_range(spec)
        if span is not None:
            print(span.render())
    return 0


def module_stem(path: str) -> str:
    """A file-name stem for generated modules: the spec's, made an importable Python name."""
    import re

    stem = re.sub(r"[^A-Za-z0-9_]", "_", os.path.splitext(os.path.basename(path))[0])
    return stem if stem[:1].isalpha() or stem[:1] == "_" else f"spec_{stem}"


def cmd_build(args) -> int:
    from .backends import STYLES, allowed_styles, generate
    from .files import write_atomic
    from .loader import load

    if args.check:
        from .tools.golden import run_check

        return run_check(args)
    spec = load(args.file)
    if args.style != "all":
        source = generate(spec, args.style)
        if args.output:
            write_atomic(args.output, source)
        else:
            sys.stdout.write(source)
        return 0
    if not args.output:
        raise UsageError("--style all writes one file per style: give a folder with -o DIR/")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise UsageError(f"{args.output!r} is a file; --style all needs a folder")
    stem = module_stem(args.file)
    styles = allowed_styles(spec)
    for style in STYLES:
        if style not in styles:
            print(f"tfspec: skipping {style}: the model cannot be written in that style", file=sys.stderr)
            continue
        target = os.path.join(args.output, f"{stem}_{style}.py")
        write_atomic(target, generate(spec, style))
        print(target)
    return 0


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with `command`, only the module providing it is imported."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="tfspec", description="Declarative model specs for TensorFlow/Keras.")
    parser.add_argument("--version", action="version", version=f"tfspec {__version__}")
    parser.add_argument(
        "--plugin",
        action="append",
        metavar="MODULE",
        help="load the plugin in MODULE (layers, losses, metrics, callbacks); may be repeated, and "
        "may follow the command; installed plugins (entry points `tfspec.plugins`) load by themselves",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("check", help="validate specs (syntax, names, arguments, shapes)")
    p.add_argument("files", nargs="+", metavar="SPEC")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("summary", help="print layers, output shapes and parameter counts")
    p.add_argument("file", metavar="SPEC")
    p.set_defaults(run=cmd_summary)

    p = sub.add_parser("build", help="print Keras source for a spec (sequential, functional or subclassing)")
    p.add_argument("file", metavar="SPEC")
    p.add_argument(
        "--style",
        default="functional",
        choices=["sequential", "functional", "subclassing", "all"],
        help="Keras style (default: functional); `all` writes every style the model allows into -o DIR",
    )
    p.add_argument("-o", "--output", metavar="PATH", help="write here (atomically) instead of to stdout")
    p.add_argument(
        "--check",
        metavar="PATH",
        help="write nothing; compare the committed FILE (--style all: every DIR/<stem>_<style>.py) with what "
        "the spec generates now, byte for byte (CRLF line breaks differ): exit 0 if equal, 1 with a diff on "
        "stdout if a file differs, is missing or is left over for a style the model no longer allows; 2 for "
        "usage errors, a missing DIR among them",
    )
    p.set_defaults(run=cmd_build)

    wanted = COMMANDS.get(command)
    for name in COMMAND_MODULES:
        if command in ("check", "summary", "build") or (wanted and name != wanted):
            continue
        import_module(name).register(sub)
    return parser


# Modules that add commands: each has `register(subparsers)` and stays cheap to import
# (TensorFlow only inside the command functions).
COMMAND_MODULES: tuple = (
    "tfspec.tools.train_cmd",
    "tfspec.tools.tune_cmd",
    "tfspec.tools.graph",
    "tfspec.tools.export",
    "tfspec.tools.fmt",
    "tfspec.tools.schema_cmd",
    "tfspec.tools.importer",
    "tfspec.codes",
    "tfspec.lsp",
)
# Which module provides a command, so that running one imports only its module.
COMMANDS = {
    "lsp": "tfspec.lsp",
    "train": "tfspec.tools.train_cmd",
    "evaluate": "tfspec.tools.train_cmd",
    "predict": "tfspec.tools.train_cmd",
    "tune": "tfspec.tools.tune_cmd",
    "graph": "tfspec.tools.graph",
    "export": "tfspec.tools.export",
    "fmt": "tfspec.tools.fmt",
    "schema": "tfspec.tools.schema_cmd",
    "import": "tfspec.tools.importer",
    "explain": "tfspec.codes",
}


def command_of(argv) -> str | None:
    """The command word of a command line (the first argument that is not an option)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg
        if arg in ("-h", "--help", "--version"):
            return None
    return None


def plugin_options(argv) -> tuple:
    """(the modules of every `--plugin MODULE` / `--plugin=MODULE`, the other arguments): the
    option is taken anywhere before `--`, so it may precede or follow the command."""
    modules, rest, i = [], [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        if arg == "--plugin":
            if i + 1 >= len(argv):
                raise UsageError("--plugin needs a module name (e.g. --plugin mypackage.tfspec_plugin)")
            modules.append(argv[i + 1])
            i += 2
            continue
        if arg.startswith("--plugin="):
            modules.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
        i += 1
    return modules, rest


def load_plugins(modules) -> None:
    from .plugins import autoload, load_plugin

    autoload()
    for module in modules:
        load_plugin(module)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter, for the commands that load it
    from .plugins import PluginError

    try:
        modules, argv = plugin_options(argv)
    except UsageError as exc:
        print(f"tfspec: error: {exc}", file=sys.stderr)
        return 2
    parser = build_parser(command_of(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage message
        return 0 if exc.code == 0 else 2
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        load_plugins(modules)
        return args.run(args)
    except PluginError as exc:
        print(f"tfspec: error: {clean(str(exc))}", file=sys.stderr)
        return 2
    except SpecError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"tfspec: error: {clean(str(exc))}", file=sys.stderr)
        return 2
    except ImportError as exc:
        from .needs import NeedsTensorFlow, is_missing_tensorflow, message

        if not isinstance(exc, NeedsTensorFlow) and not is_missing_tensorflow(exc):
            raise
        print(f"tfspec: error: {message()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tfspec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
