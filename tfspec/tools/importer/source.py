"""Reading a model file: a `.keras` archive, a Keras JSON config (`model.to_json()`) or a
legacy HDF5 model file (`model.save("model.h5")`, Keras 2 or 3).

The model is described by its config, read as JSON: nothing in the file is instantiated or
executed to write the spec. Only `--weights` loads the model, through Keras's safe mode, once
the config has shown that every class in it is a built-in Keras layer. A Keras 2 config is
turned into Keras 3 form (keras2.py) before it is read.
"""

from __future__ import annotations

import json
import os
import re
import zipfile

from .errors import ImportFailure

MAX_CONFIG_BYTES = 64 * 1024 * 1024
# JSON objects and arrays nested deeper than this are refused before parsing: reading the config
# walks it by recursion (Python's json module included). A Keras model nested 32 deep (the most
# a spec's blocks nest, E309) makes about 130 levels of JSON.
MAX_CONFIG_DEPTH = 200


JSON_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # strings whole, brackets one by one


def nesting_problem(text: str) -> str | None:
    """Where the JSON text nests deeper than MAX_CONFIG_DEPTH, as words; None when it does not.
    One pass over the text, no recursion; brackets inside strings do not count."""
    depth = 0
    for match in JSON_BRACKETS.finditer(text):
        ch = match.group()
        if ch in "[{":
            depth += 1
            if depth > MAX_CONFIG_DEPTH:
                index = match.start()
                line = text.count("\n", 0, index) + 1
                column = index - text.rfind("\n", 0, index)
                return f"line {line}, column {column:,}"
        elif ch in "]}":
            depth -= 1
    return None


def too_deep(value) -> bool:
    """Whether a config already read (dicts and lists) nests deeper than MAX_CONFIG_DEPTH.
    Iterative: a stack of (value, depth)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_CONFIG_DEPTH:
                return True
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return False


def is_archive(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def read_config(path: str) -> dict:
    """The model's serialized config: {"class_name": ..., "config": {...}, ...}."""
    if not os.path.exists(path):
        raise ImportFailure(path, "E901", "no such file")
    if os.path.isdir(path):
        raise ImportFailure(
            path, "E901", "this is a folder, not a model file", "give a .keras file or a JSON config (model.to_json())"
        )
    try:
        archive = is_archive(path)
        if path.endswith(".keras") and not archive:
            raise ImportFailure(path, "E901", "not a valid .keras file: it is not a zip archive")
        if not archive and is_hdf5(path):
            text, version = read_hdf5_config(path)
        else:
            text, version = (read_archive_config(path) if archive else read_text(path)), None
    except OSError as exc:
        raise ImportFailure(path, "E901", f"cannot read the file: {exc.strerror or exc}") from None
    where = nesting_problem(text)
    if where is not None:
        raise ImportFailure(
            path,
            "E901",
            f"the config nests objects and lists more than {MAX_CONFIG_DEPTH} deep (at {where})",
            "a Keras model config nests far less; models inside models inside ... are not supported that deep",
        )
    try:
        config = json.loads(text)
    except RecursionError:  # pragma: no cover - nesting_problem refuses such text first
        raise ImportFailure(path, "E901", "the config nests objects and lists too deep") from None
    except ValueError as exc:
        raise ImportFailure(
            path,
            "E901",
            f"not a Keras model config: invalid JSON ({exc})",
            "give a .keras file or the output of model.to_json()",
        ) from None
    if not isinstance(config, dict) or "class_name" not in config or not isinstance(config.get("config"), dict):
        raise ImportFailure(
            path,
            "E901",
            "not a Keras model config (no class_name and config at the top)",
            "give a .keras file or the output of model.to_json()",
        )
    if version is not None and "keras_version" not in config:
        config["keras_version"] = version  # where Keras 2's to_json() writes it: says how to read the config
    return config


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_hdf5(path: str) -> bool:
    """An HDF5 file by its name or its signature (at offset 0; HDF5 allows others, Keras never writes them)."""
    if path.endswith((".h5", ".hdf5")):
        return True
    with open(path, "rb") as handle:
        return handle.read(8) == HDF5_SIGNATURE


def read_hdf5_config(path: str) -> tuple[str, str | None]:
    """The `model_config` attribute of a legacy HDF5 model file, and its `keras_version`. Read as
    data with h5py: nothing in the file is run."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            attrs = handle.attrs
            if "model_config" not in attrs:
                weights_only = "layer_names" in attrs or "model_weights" in handle or "vars" in handle
                raise ImportFailure(
                    path,
                    "E901",
                    "this HDF5 file holds weights only, no model config"
                    if weights_only
                    else "this HDF5 file holds no Keras model (no model_config attribute)",
                    "save the whole model (model.save('model.keras'), or model.save('model.h5') in Keras 2)",
                )
            config = attrs["model_config"]
            version = attrs.get("keras_version")
    except (OSError, RuntimeError, KeyError, ValueError) as exc:  # h5py's errors for damaged files
        raise ImportFailure(path, "E901", f"not a valid HDF5 model file: {first_line(exc)}") from None
    config, version = attribute_text(config), attribute_text(version)
    if not isinstance(config, str):
        raise ImportFailure(path, "E901", "not a Keras model file: its model_config attribute is not text")
    if len(config) > MAX_CONFIG_BYTES:
        raise ImportFailure(
            path, "E901", f"the file's model config is too large (over {MAX_CONFIG_BYTES // 2**20} MiB)"
        )
    return config, version if isinstance(version, str) else None


def attribute_text(value) -> str | None:
    """An HDF5 string attribute as str: h5py gives str or bytes (numpy's bytes_ included)."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return str(value) if isinstance(value, str) else None


def read_text(path: str) -> str:
    if os.path.getsize(path) > MAX_CONFIG_BYTES:
        raise ImportFailure(
            path, "E901", f"the file is too large for a model config (over {MAX_CONFIG_BYTES // 2**20} MiB)"
        )
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportFailure(
            path,
            "E901",
            "not a Keras model file (neither a .keras archive nor JSON text)",
            "give a .keras file or the output of model.to_json()",
        ) from None


def read_archive_config(path: str) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo("config.json")
            except KeyError:
                raise ImportFailure(path, "E901", "not a .keras file: the archive has no config.json") from None
            if info.file_size > MAX_CONFIG_BYTES:
                raise ImportFailure(
                    path, "E901", f"the archive's config.json is too large (over {MAX_CONFIG_BYTES // 2**20} MiB)"
                )
            return archive.read(info).decode("utf-8")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, UnicodeDecodeError, ValueError) as exc:
        raise ImportFailure(path, "E901", f"not a valid .keras file: the archive is damaged ({exc})") from None


def first_line(exc: Exception, limit: int = 200) -> str:
    """An error's first line, cut short (Keras repeats whole configs in some of its messages)."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[:limit] + " ..."


def load_model(path: str):
    """The live model, for its weights: Keras safe mode, no compile. Any Keras failure becomes an
    ImportFailure (no traceback)."""
    import keras

    if is_archive(path):
        try:
            return keras.saving.load_model(path, safe_mode=True, compile=False, custom_objects=stand_ins(path))
        except Exception as exc:  # noqa: BLE001 - Keras raises many types; all mean "cannot load"
            raise ImportFailure(path, "E901", f"Keras cannot load the model: {first_line(exc)}") from None
    if is_hdf5(path):
        return load_hdf5_model(path)
    raise ImportFailure(
        path,
        "E905",
        "a JSON config holds no weights",
        "save the model as .keras (model.save('model.keras')) to import its weights",
    )


def stand_ins(path: str) -> dict:
    """{registered name: a class of ours} for the AddLoss layers of tfspec's generated code in the
    model (`add_loss` in a spec: no weights; it adds a loss term and passes its input on), so that
    a .keras file of a tfspec model loads in a process that has not run that code."""
    import keras

    from ...backends.losses import LOSS_MARKER
    from .graph import loss_term

    found, stack = set(), [read_config(path)]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if loss_term(item) is not None and keras.saving.get_registered_object(item["registered_name"]) is None:
                found.add(item["registered_name"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    if not found:
        return {}

    class AddLoss(keras.layers.Layer):
        def __init__(self, term, **kwargs):
            super().__init__(autocast=False, **kwargs)
            self.term = term

        def call(self, x, loss):
            return x

        def compute_output_spec(self, x, loss):
            return keras.tree.map_structure(lambda t: keras.KerasTensor(t.shape, dtype=t.dtype), x)

        def get_config(self):
            return {**super().get_config(), "term": self.term}

    setattr(AddLoss, LOSS_MARKER, True)
    return {name: AddLoss for name in found}


def load_hdf5_model(path: str):
    """A legacy HDF5 model with its weights. A Keras 3 file is Keras's to load. Keras 3's loader
    misreads some Keras 2 files (a nested model's node indices), so a Keras 2 model is made from its
    config in Keras 3 form (keras2.convert), in safe mode, and the weights loaded into it by layer
    name (Keras's legacy HDF5 weight loader); a layer whose weights the file lacks is an error."""
    import h5py
    import keras

    from .keras2 import convert, is_keras2

    config = read_config(path)
    if not is_keras2(config):
        try:
            return keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:  # noqa: BLE001 - Keras raises many types; all mean "cannot load"
            raise ImportFailure(path, "E901", f"Keras cannot load the model: {first_line(exc)}") from None
    config = convert(config)
    try:
        with h5py.File(path, "r") as handle:
            group = handle["model_weights"] if "model_weights" in handle else handle
            saved = {attribute_text(n) for n in group.attrs.get("layer_names", [])}
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        raise ImportFailure(path, "E905", f"cannot read the file's weights: {first_line(exc)}") from None
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types; all mean "cannot load"
        raise ImportFailure(path, "E901", f"Keras cannot load the model: {first_line(exc)}") from None
    missing = [layer.name for layer in model.layers if layer.weights and layer.name not in saved]
    if missing:
        raise ImportFailure(
            path, "E905", f"the file holds no weights for layer {missing[0]!r}", "save the model with its weights"
        )
    try:
        model.load_weights(path, by_name=True)
    except Exception as exc:  # noqa: BLE001
        raise ImportFailure(path, "E905", f"Keras cannot load the file's weights: {first_line(exc)}") from None
    return model
