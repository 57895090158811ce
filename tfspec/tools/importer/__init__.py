"""`tfspec import`: a Keras model (.keras or .h5 file, or JSON config) as a readable spec.

    imported = import_file("model.keras")        # .text (checked spec text), .spec, .notes
    model = tfspec.build(imported.spec, "subclassing")
    copy_weights(keras_model, imported.spec, model, "subclassing")   # the original weights

Importing this package is cheap: Keras is loaded only when a model is imported.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from ...ir.nodes import Spec
from .errors import ImportFailure

__all__ = ["ImportFailure", "Imported", "copy_weights", "import_config", "import_file", "register"]

HELP = "turn a Keras model (.keras or .h5 file, or JSON config) into a spec"
DESCRIPTION = """\
Write a spec that builds the same model as MODEL: a .keras file, a legacy HDF5 model file
(.h5, Keras 2 or 3) or a Keras JSON config (model.to_json(), Keras 2 or 3). Nothing in the
file is executed: models holding Lambda layers or custom classes are refused, and so are
layers missing from tfspec's catalog. Without -o the spec is printed."""
WEIGHTS_HELP = """\
also save the model's weights as <spec stem>.weights.h5 beside the spec (needs a .keras
or .h5 model file and -o). The file loads into the model of every style the spec allows:
model = tfspec.build(spec, style); model.load_weights(path). Where Keras numbers a style's
layers otherwise (a subclassed model with blocks), that style gets <stem>.<style>.weights.h5."""


@dataclass
class Imported:
    text: str  # the spec, checked by tfspec.loads
    spec: Spec  # the same, loaded
    notes: list = field(default_factory=list)  # things the spec leaves out, for the user


def register(subparsers) -> None:
    p = subparsers.add_parser("import", help=HELP, description=DESCRIPTION)
    p.add_argument("model", metavar="MODEL", help="a .keras or .h5 model file, or a Keras JSON config")
    p.add_argument("-o", "--output", metavar="SPEC", help="write the spec here (atomically) instead of to stdout")
    p.add_argument("--weights", action="store_true", help=WEIGHTS_HELP)
    p.add_argument("--name", metavar="NAME", help="the model's name in the spec (default: the Keras model's name)")
    p.add_argument(
        "--flat",
        action="store_true",
        help="one statement per Keras layer: repeated sub-graphs are not folded into blocks",
    )
    p.set_defaults(run=run)


def run(args) -> int:
    from ...cli import UsageError
    from ...files import write_atomic, write_reason
    from ...needs import require

    if args.weights and not args.output:
        raise UsageError("--weights writes <spec stem>.weights.h5 beside the spec: give -o SPEC")
    if args.name is not None and not valid_name(args.name):
        raise UsageError(f"--name {args.name!r} is not a valid model name (letters, digits and _, not a keyword)")
    require(quiet=True)  # reading Keras configs needs Keras: NeedsTensorFlow without it (exit 2)
    imported = import_file(args.model, args.name, args.flat)
    weights = None
    if args.weights:
        from .source import load_model
        from .weights import weights_files

        weights = weights_files(load_model(args.model), imported.spec, args.model)
        if len(weights) > 1:
            styles = ", ".join(style for style in weights if style)
            imported.notes.append(
                f"Keras lays out the weights of the {styles} model differently: it loads "
                + ", ".join(os.path.basename(weights_path(args.output, s)) for s in weights if s)
                + f"; the other styles load {os.path.basename(weights_path(args.output))}"
            )
    for note in imported.notes:
        print(f"tfspec import: note: {note}", file=sys.stderr)
    if not args.output:
        sys.stdout.write(imported.text)
        return 0
    try:
        for style, data in (weights or {}).items():
            write_atomic(weights_path(args.output, style), data)
        write_atomic(args.output, imported.text)
    except OSError as exc:
        raise UsageError(f"-o {args.output!r}: cannot write it: {write_reason(exc)}") from None
    return 0


def weights_path(spec_path: str, style: str = "") -> str:
    """<spec stem>.weights.h5, or <spec stem>.<style>.weights.h5 for a style's own file."""
    stem, ext = os.path.splitext(spec_path)
    return (stem if ext == ".tfs" else spec_path) + (f".{style}" if style else "") + ".weights.h5"


def import_file(path: str, name: str | None = None, flat: bool = False) -> Imported:
    """Import a .keras or .h5 file or a JSON config; raises ImportFailure (or SpecError). `flat`
    writes one statement per Keras layer, with no blocks folded from repeated sub-graphs."""
    from .source import read_config

    return import_config(read_config(path), path, name, flat)


def import_config(config: dict, path: str = "<config>", name: str | None = None, flat: bool = False) -> Imported:
    """Import a serialized Keras model (`json.loads(model.to_json())`)."""
    from ...loader import loads
    from .arguments import Arguments
    from .graph import Reader
    from .keras2 import upgrade
    from .source import MAX_CONFIG_DEPTH, too_deep
    from .writer import Writer

    if too_deep(config):
        raise ImportFailure(path, "E901", f"the config nests objects and lists more than {MAX_CONFIG_DEPTH} deep")
    config = upgrade(config)  # a Keras 2 config (tf.keras to_json(), an .h5 file's) in Keras 3 form
    reader = Reader(path)
    model = reader.model(config)
    notes = reader.notes
    writer = Writer(path, Arguments(path), notes, flat)
    label = os.path.basename(path).replace("\n", " ")
    text = writer.program(model, name or model_name(model.name, path), f"# Imported by `tfspec import` from {label!r}.")
    spec = loads(text, filename=f"<imported from {label}>")
    return Imported(text, spec, notes)


def model_name(keras_name: str, path: str) -> str:
    """The Keras model's own name, or one made from the file name when Keras made it up."""
    from .arguments import is_auto_name
    from .writer import camel

    made_up = any(is_auto_name(keras_name, c) for c in ("Functional", "Sequential", "Model"))
    for candidate in ([] if made_up else [camel(keras_name)]) + [
        camel(os.path.splitext(os.path.basename(path))[0]),
        "ImportedModel",
    ]:
        if valid_name(candidate):
            return candidate
    return "ImportedModel"


def valid_name(name: str) -> bool:
    from .writer import RESERVED

    return name.isidentifier() and name.isascii() and name not in RESERVED and not name.startswith("__")


def copy_weights(source, spec, target, style: str) -> None:
    """Give `target` (built from `spec` in `style`) the weights of `source` (the Keras model
    the spec was imported from). Raises ValueError when they do not pair up."""
    from .weights import copy_weights as copy

    copy(source, spec, target, style)
