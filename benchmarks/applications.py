"""One keras.applications model through `tfspec import` and back, measured; shared by
benchmarks/bench_import.py (all 40 constructors) and tests/test_import_applications.py (a few).

For a constructor name, `measure(name)`:
1. builds the model with its defaults (preprocessing included) but weights=None, classes=10 and
   the smallest square input it accepts (32x32x3 for most, see SIZES);
2. randomises every floating 1-D weight (batch-norm gamma/beta/moving statistics, biases,
   LayerScale gamma, Normalization mean/variance) with a fixed seed, so that the outputs depend on
   them: Keras initialises them to 0 or 1 (LayerScale to 1e-6), where a weight that is dropped or
   swapped would go unnoticed. Each value v becomes v * U(0.5, 1.5) + N(0, 0.1), made positive for
   variances. Then the batch norms' moving statistics are calibrated on a batch of images and the
   classifier scaled to logits of spread 1 (`calibrate`, `temper`): without that, deep models
   saturate (ReLU6 clipping everything, softmax outputs of exactly 0 and 1) and their outputs
   stop depending on any weight;
3. saves it as .keras in a temporary folder and times `import_file` on it, in-process with
   TensorFlow already started (best of 3 runs when one run is under 2 s), and counts the spec's
   lines; with `flat=True` too when import_file accepts that keyword;
4. writes the weights files (`weights_files`: one for every style, or a style's own), builds the spec in the functional and subclassing
   styles, loads that file into each, and compares parameter counts and the outputs on a fixed
   batch of 2 random images with the original's.

Outputs are softmax probabilities (at most 1), computed by the same layers with the same weights,
so the two models agree up to float32 rounding: they count as equal when the largest absolute
difference is at most TOLERANCE times the largest output (1e-5 relative is about 80 float32 ulps,
far above reordering noise and far below what one wrong weight does after randomisation).

Every failure becomes the row's `error` (one line, `stage: reason`); nothing raises.
"""

from __future__ import annotations

import gc
import inspect
import os
import re
import tempfile
import time

TOLERANCE = 1e-5  # relative to the largest output (probabilities)
SEED = 0
BATCH = 2
CALIBRATION = 32  # images whose statistics become the batch-norm moving statistics
FAST_IMPORT_S = 2.0  # imports faster than this are timed 3 times, best reported
STYLES = ("functional", "subclassing")
QUICK = ("ResNet50", "MobileNetV2", "MobileNetV3Small", "DenseNet121", "EfficientNetB0", "ConvNeXtTiny", "InceptionV3")
# The smallest square input each constructor accepts with weights=None (found by trying; 32 for the
# rest, NASNetMobile and NASNetLarge included: without pretrained weights they take 32 too).
SIZES = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71}


def constructors() -> list[str]:
    """Every model constructor of keras.applications (its upper-case names), sorted."""
    import keras

    return sorted(n for n in dir(keras.applications) if n[:1].isupper())


def input_size(name: str) -> int:
    return SIZES.get(name, 32)


def construct(name: str, size: int | None = None):
    """The model with its default arguments, but no pretrained weights, 10 classes and a small input."""
    import keras

    size = size or input_size(name)
    return getattr(keras.applications, name)(weights=None, classes=10, input_shape=(size, size, 3))


def randomise(model, name: str, seed: int = SEED) -> int:
    """Give every floating 1-D weight random values, then calibrate the batch norms and temper
    the classifier (see the module doc); returns how many 1-D weights were changed."""
    import numpy as np

    rng = np.random.default_rng(seed)
    count = 0
    for variable in model.weights:
        if len(variable.shape) != 1 or "float" not in str(variable.dtype):
            continue
        value = np.asarray(variable.numpy(), dtype="float64")
        value = value * rng.uniform(0.5, 1.5, value.shape) + rng.normal(0.0, 0.1, value.shape)
        if "variance" in variable.path.rsplit("/", 1)[-1]:
            value = np.abs(value) + 0.05
        variable.assign(value.astype(variable.dtype))
        count += 1
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if type(layer).__name__ == "Normalization" and layer.built:
            layer.finalize_state()  # it computes with copies of mean and variance, made here
    batch = sample_batch(model, name, CALIBRATION, seed + 1)
    calibrate(model, batch)
    temper(model, batch)
    return count


def calibrate(model, batch) -> None:
    """Set every BatchNormalization's moving mean and variance to the statistics of its inputs
    on `batch` (one training-mode call with momentum 0 and dropout off). Random moving statistics
    alone leave deep models unnormalised: activations grow until ReLU6 clips them or the softmax
    saturates, and then no weight changes the outputs. Calibrated, every layer sees inputs of
    order 1. Each variance gets a tenth of its layer's mean added: a channel that is nearly
    constant on the batch would otherwise amplify float32 rounding on other inputs."""
    import keras

    layers = list(model._flatten_layers(include_self=False, recursive=True))
    saved = [(layer, "momentum", 0.0) for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved += [(layer, "rate", 0.0) for layer in layers if isinstance(layer, keras.layers.Dropout)]
    saved = [(layer, key, getattr(layer, key), value) for layer, key, value in saved]
    try:
        for layer, key, _, value in saved:
            setattr(layer, key, value)
        model(batch, training=True)
    finally:
        for layer, key, old, _ in saved:
            setattr(layer, key, old)
    for layer in layers:
        if isinstance(layer, keras.layers.BatchNormalization):  # no near-constant channel blown up
            variance = layer.moving_variance
            variance.assign(variance + 0.1 * keras.ops.mean(variance) + 0.01)


def temper(model, batch) -> None:
    """Scale the classifier's kernel and bias so that the logits on `batch` have standard deviation
    1: Keras's initialisers give some heads (EfficientNet's) logits of tens, whose softmax is 0 or
    1 in float32 whatever the weights below it. The softmax is the last layer's activation (a Dense
    or an Activation layer); it is switched off for one call to read the logits."""
    import keras
    import numpy as np

    last = model.layers[-1]
    heads = [layer for layer in model.layers if any(w.name == "kernel" for w in layer.weights)]
    if not heads or getattr(last, "activation", None) is None:
        return
    activation, last.activation = last.activation, keras.activations.linear
    try:
        logits = np.asarray(model(batch, training=False))
    finally:
        last.activation = activation
    spread = float(np.std(logits))
    if spread > 0:
        for variable in heads[-1].weights:
            variable.assign(variable.numpy() / spread)


def preprocessing(model_name: str):
    """The constructor's own `preprocess_input` (identity for models that preprocess inside)."""
    import keras

    module = getattr(keras.applications, model_name).__module__.rsplit(".", 1)[-1]
    return getattr(getattr(keras.applications, module, None), "preprocess_input", None) or (lambda x: x)


def sample_batch(model, name: str, size: int = BATCH, seed: int = SEED):
    """`size` random images in [0, 255], preprocessed as the model expects them; fixed by the seed."""
    import numpy as np

    shape = (size,) + tuple(model.inputs[0].shape[1:])
    images = np.random.default_rng(seed).uniform(0.0, 255.0, shape).astype("float32")
    return np.asarray(preprocessing(name)(images), dtype="float32")


def one_line(exc: BaseException, folder: str = "") -> str:
    """An exception as one short line: a SpecError's first rendered line, else its type and message."""
    from tfspec.diagnostics import SpecError

    text = exc.render() if isinstance(exc, SpecError) else f"{type(exc).__name__}: {exc}"
    line = (text.strip().splitlines() or [type(exc).__name__])[0]
    if folder:
        line = line.replace(folder + os.sep, "")
    return re.sub(r"\s+", " ", line)[:240]


def timed_import(path: str, runs: int = 3, **options):
    """(Imported, seconds): one run, or the best of `runs` when a run takes under FAST_IMPORT_S."""
    from tfspec.tools.importer import import_file

    best, imported = float("inf"), None
    for attempt in range(runs):
        start = time.perf_counter()
        imported = import_file(path, **options)
        best = min(best, time.perf_counter() - start)
        if attempt == 0 and best >= FAST_IMPORT_S:
            break
    return imported, best


def accepts_flat() -> bool:
    from tfspec.tools.importer import import_file

    return "flat" in inspect.signature(import_file).parameters


def free_memory() -> None:
    import keras

    keras.backend.clear_session()
    gc.collect()


def measure(name: str, size: int | None = None, log=None, runs: int = 3, flat: bool | None = None) -> dict:
    """The benchmark row of one constructor (see the module doc); never raises. `runs`: timed
    imports at most; `flat`: also import with flat=True (None: when import_file accepts it)."""
    row = {
        "name": name,
        "input": size or input_size(name),
        "params": None,
        "lines": None,
        "flat_lines": None,
        "import_seconds": None,
        "round_trip": False,
        "max_diff": None,
        "styles": {},
        "error": None,
    }
    say = log or (lambda text: None)
    start = time.perf_counter()
    stage = "construct"
    with tempfile.TemporaryDirectory(prefix="tfspec-bench-import-") as folder:
        try:
            source = construct(name, row["input"])
            row["params"] = int(source.count_params())
            row["randomised"] = randomise(source, name)
            stage = "save"
            path = os.path.join(folder, f"{name}.keras")
            source.save(path)
            stage = "import"
            say(f"{name}: {row['params']:,} parameters, importing")
            imported, seconds = timed_import(path, runs)
            row["lines"] = len(imported.text.splitlines())
            row["import_seconds"] = round(seconds, 3)
            if accepts_flat() if flat is None else flat:
                stage = "import flat"
                flattened, seconds = timed_import(path, runs, flat=True)
                row["flat_lines"] = len(flattened.text.splitlines())
                row["flat_import_seconds"] = round(seconds, 3)
                flattened = None
            stage = "weights file"
            say(f"{name}: {row['lines']} lines in {row['import_seconds']} s, round trip")
            round_trip(source, imported.spec, path, folder, row)
        except Exception as exc:  # noqa: BLE001 - a benchmark row records every failure and goes on
            row["error"] = f"{stage}: {one_line(exc, folder)}"
        finally:
            source = imported = None
            free_memory()
    row["seconds"] = round(time.perf_counter() - start, 1)
    return row


def round_trip(source, spec, path: str, folder: str, row: dict) -> None:
    """Fill row's styles, max_diff and round_trip: each style built from `spec`, the weights file
    loaded, parameter count and outputs compared with `source`'s."""
    import numpy as np

    import tfspec
    from tfspec.backends import allowed_styles
    from tfspec.tools.importer.weights import weights_files

    files = {}  # "" (every style) or a style -> the file it loads, as `tfspec import --weights` writes them
    for key, data in weights_files(source, spec, path).items():
        files[key] = os.path.join(folder, f"{row['name']}{'.' + key if key else ''}.weights.h5")
        with open(files[key], "wb") as handle:
            handle.write(data)
    row["weights_files"] = len(files)
    x = sample_batch(source, row["name"])
    expected = np.asarray(source(x, training=False), dtype="float64")
    scale = float(np.max(np.abs(expected))) or 1.0
    row["output_scale"] = round(scale, 6)
    allowed = allowed_styles(spec)
    problems = []
    for style in STYLES:
        if style not in allowed:
            row["styles"][style] = {"error": "the spec does not allow this style"}
            problems.append(f"{style}: not allowed")
            continue
        found = row["styles"][style] = {}
        step = "build"
        try:
            model = tfspec.build(spec, style)
            found["params"] = int(model.count_params())
            step = "load_weights"
            model.load_weights(files.get(style, files[""]))
            step = "call"
            got = np.asarray(model(x, training=False), dtype="float64")
        except Exception as exc:  # noqa: BLE001 - recorded, like every failure of a row
            found["error"] = f"{step}: {one_line(exc, folder)}"
            problems.append(f"{style} {found['error']}")
            continue
        finally:
            model = None
            gc.collect()
        if found["params"] != row["params"]:
            problems.append(f"{style}: {found['params']:,} parameters, not {row['params']:,}")
        if got.shape != expected.shape:
            problems.append(f"{style}: outputs of shape {got.shape}, not {expected.shape}")
            continue
        found["max_diff"] = diff = float(np.max(np.abs(got - expected)))
        row["max_diff"] = max(row["max_diff"] or 0.0, diff)
        if not diff <= TOLERANCE * scale:
            problems.append(f"{style}: outputs differ by {diff:.3g}")
    row["round_trip"] = not problems
    if problems:
        row["error"] = "round trip: " + "; ".join(problems)
