"""Reading a model file: a `.keras` archive or a Keras JSON config (`model.to_json()`).

The model is described by its config, read as JSON: nothing in the file is instantiated or
executed to write the spec. Only `--weights` loads the model, through Keras's safe mode, once
the config has shown that every class in it is a built-in Keras layer.
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
        text = read_archive_config(path) if archive else read_text(path)
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
    return config


def read_text(path: str) -> str:
    if path.endswith(".h5") or path.endswith(".hdf5"):
        raise ImportFailure(
            path,
            "E901",
            "legacy HDF5 model files are not supported",
            "load it in Keras and save it again as .keras (model.save('model.keras'))",
        )
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


def load_model(path: str):
    """The live model, for its weights: Keras safe mode, no compile. Any Keras failure becomes an
    ImportFailure (no traceback)."""
    import keras

    if not is_archive(path):
        raise ImportFailure(
            path,
            "E905",
            "a JSON config holds no weights",
            "save the model as .keras (model.save('model.keras')) to import its weights",
        )
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types; all mean "cannot load"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportFailure(path, "E901", f"Keras cannot load the model: {first}") from None
