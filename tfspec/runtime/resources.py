"""Memory the machine has, and what data and training will need of it.

Asking before allocating turns a MemoryError (or the kernel's OOM killer, or minutes of swapping)
into a one-line error that names what is too big, by how much, and what to do instead. Estimates
here are lower bounds: a "no" is certain, a "yes" is not a promise.

TFSPEC_AVAILABLE_MEMORY (bytes, or with a K/M/G/T suffix, powers of 1024) overrides what the
machine reports, for tests and for users who want to keep training within a budget.
"""

import math
import os

from .errors import DataError, TrainingError

GIB = 1 << 30
# Optimizer state per trainable value (keras/src/optimizers/*.py `build`): Adam keeps a momentum and a
# velocity, SGD a momentum only when it has one, RMSprop a velocity plus a momentum and a mean gradient
# when asked for them. Names are compared lower-case without underscores.
SLOTS = {
    "adam": 2,
    "adamw": 2,
    "nadam": 2,
    "adamax": 2,
    "lamb": 2,
    "schedulefreeadamw": 2,
    "adadelta": 2,
    "ftrl": 2,
    "muon": 2,  # a momentum everywhere, an Adam velocity where it falls back to AdamW
    "adagrad": 1,
    "lion": 1,
    "adafactor": 1,  # a velocity, plus factored row/column statistics (small)
    "sgd": 0,
    "rmsprop": 1,
}
DEFAULT_SLOTS = 2  # an optimizer not listed: as many as Adam
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def gib(nbytes):
    """'23,283.1 GiB', '0.02 GiB': sizes in messages, always in the same unit."""
    value = nbytes / GIB
    return f"{value:,.1f} GiB" if value >= 1 else f"{value:.2f} GiB"


def _override():
    text = os.environ.get("TFSPEC_AVAILABLE_MEMORY", "").strip().lower().removesuffix("ib").removesuffix("b")
    if not text:
        return None
    unit = text[-1] if text[-1] in _UNITS else ""
    try:
        return int(float(text[: len(text) - len(unit)]) * _UNITS[unit])
    except ValueError:
        return None


def _meminfo():
    """MemAvailable from /proc/meminfo (Linux), in bytes, or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _read_int(path):
    try:
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
        return None if text == "max" else int(text)
    except (OSError, ValueError):
        return None


def _stat(path, key):
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _cgroup():
    """What a container's memory limit leaves (limit - usage + reclaimable page cache), or None."""
    for limit, usage, stat, cache in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory.stat", "inactive_file"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
            "/sys/fs/cgroup/memory/memory.stat",
            "total_inactive_file",
        ),
    ):
        cap = _read_int(limit)
        if cap is None or cap >= 1 << 60:  # "max", or v1's "no limit" (a page-rounded 2**63)
            continue
        used = _read_int(usage) or 0
        return max(0, cap - max(0, used - _stat(stat, cache)))
    return None


def _sysconf():
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def available_memory():
    """Bytes this process can still allocate without swapping, or None when nothing says."""
    override = _override()
    if override is not None:
        return override
    system = _meminfo()
    if system is None:
        system = _sysconf()
    container = _cgroup()
    known = [v for v in (system, container) if v is not None]
    return min(known) if known else None


def require_memory(nbytes, what, fix, error=DataError):
    """Raise `error` when `nbytes` (what `what` needs) is more than the memory available."""
    available = available_memory()
    if available is None or nbytes <= available:
        return
    raise error(f"{what} needs {gib(nbytes)} of memory but {gib(available)} is available; {fix}")


# ---------------------------------------------------------------- training


def _optimizer_parts(optimizer, config):
    """(class name, config) from a name or a spec dict {"class_name", "config"}; a
    LossScaleOptimizer counts as the optimizer it wraps."""
    if isinstance(optimizer, dict):
        config = {**(optimizer.get("config") or {}), **(config or {})}
        optimizer = optimizer.get("class_name", "")
    config = dict(config or {})
    name = str(optimizer)
    if name.lower().replace("_", "") == "lossscaleoptimizer" and isinstance(config.get("inner_optimizer"), dict):
        return _optimizer_parts(config["inner_optimizer"], None)
    return name, config


def optimizer_slots(optimizer, config=None):
    """Values the optimizer keeps per trainable value (its slots), from its name and settings."""
    name, config = _optimizer_parts(optimizer, config)
    key = name.lower().replace("_", "")
    slots = SLOTS.get(key, DEFAULT_SLOTS)
    if key == "sgd" and config.get("momentum"):
        slots += 1
    if key == "rmsprop":
        slots += bool(config.get("momentum")) + bool(config.get("centered"))
    if key in ("adam", "adamw") and config.get("amsgrad"):
        slots += 1
    if config.get("use_ema"):
        slots += 1  # the moving average of the weights
    if config.get("gradient_accumulation_steps"):
        slots += 1  # the accumulated gradients
    return slots


def training_bytes(params, optimizer="Adam", config=None, bytes_per_value=4):
    """Bytes that training `params` values needs at least: the weights, their gradients and the
    optimizer's slots (activations, data and TensorFlow itself come on top)."""
    return int(params) * bytes_per_value * (2 + optimizer_slots(optimizer, config))


def require_training_memory(params, optimizer="Adam", config=None, bytes_per_value=4):
    """Raise a TrainingError when the weights, gradients and optimizer slots of `params` values
    cannot fit in the memory available (e.g. Dense(2147483648)), before anything is allocated."""
    needed = training_bytes(params, optimizer, config, bytes_per_value)
    available = available_memory()
    if available is None or needed <= available:
        return
    name, config = _optimizer_parts(optimizer, config)
    slots = optimizer_slots(name, config)
    kept = "no optimizer slot" if slots == 0 else f"{slots} optimizer slot{'s' if slots > 1 else ''}"
    dtype = {2: "float16", 4: "float32", 8: "float64"}.get(bytes_per_value, f"{bytes_per_value}-byte")
    fewer = "" if slots == 0 else "; an optimizer with fewer slots (SGD without momentum keeps none) needs less"
    raise TrainingError(
        f"the model has {int(params):,} parameters: training it with {name or 'its optimizer'} needs at least "
        f"{gib(needed)} (weights, gradients and {kept}, {dtype}) but {gib(available)} of memory is available; "
        f"make the model smaller (fewer units, filters or layers){fewer}"
    )


def array_bytes(shape, itemsize):
    """Bytes of an array of `shape` (Python integers: no overflow for headers that lie)."""
    return math.prod(int(d) for d in shape) * int(itemsize)
