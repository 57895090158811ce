"""What the model takes and returns, and numpy preprocessing to match it (reshape, dtype, one-hot)."""

from dataclasses import dataclass, field

import numpy as np

from .data import check_finite, map_arrays, num_samples, take
from .errors import DataError
from .objects import loss_class_name, needs_one_hot


@dataclass
class Signature:
    """inputs: [(name, shape without batch or None, dtype or None)]; outputs filled in by `probe`."""

    inputs: list = field(default_factory=list)
    output_names: list = None
    output_shapes: list = None
    output_kind: str = "single"  # "single" | "sequence" | "dict"

    def outputs_tuple(self, pred):
        """Model output (tensor, list or dict) as a tuple ordered like output_names."""
        if self.output_kind == "dict":
            return tuple(pred[name] for name in self.output_names)
        if self.output_kind == "sequence":
            return tuple(pred)
        return (pred,)


def describe(model, training):
    """Inputs and output names from the training dict ("inputs"/"outputs") or the model itself."""
    sig = Signature()
    if training.get("inputs"):
        sig.inputs = [(i.get("name"), _shape(i.get("shape")), i.get("dtype")) for i in training["inputs"]]
    else:
        try:
            sig.inputs = [(t.name, _shape(t.shape[1:]), t.dtype) for t in model.inputs]
        except (AttributeError, ValueError, TypeError):
            sig.inputs = []
    if training.get("outputs"):
        sig.output_names = list(training["outputs"])
    else:
        try:
            sig.output_names = list(model.output_names) or None
        except (AttributeError, ValueError, TypeError):
            sig.output_names = None
    return sig


def _shape(shape):
    if shape is None:
        return None
    return tuple(None if d is None else int(d) for d in shape)


def probe(model, sig, x):
    """Call the model on one sample to learn the structure and shapes of its outputs."""
    pred = model(take(x, slice(0, 1)), training=False)
    if isinstance(pred, dict):
        names = sig.output_names or list(pred)
        missing = [n for n in names if n not in pred]
        if missing:
            raise DataError(f"the model returns outputs {sorted(pred)}, not {missing}")
        sig.output_kind, sig.output_names = "dict", list(names)
    elif isinstance(pred, (list, tuple)):
        names = sig.output_names or [f"output_{i + 1}" for i in range(len(pred))]
        if len(names) != len(pred):
            raise DataError(f"the model returns {len(pred)} outputs but {len(names)} output names are given")
        sig.output_kind, sig.output_names = "sequence", list(names)
    else:
        sig.output_kind, sig.output_names = "single", list(sig.output_names or ["output"])[:1]
    sig.output_shapes = [tuple(p.shape) for p in sig.outputs_tuple(pred)]
    return sig


def _input_array(a, name, shape, dtype):
    a = np.asarray(a)
    with np.errstate(over="ignore"):  # a value beyond the dtype's range becomes Inf: `prepare` refuses it
        if dtype is None or np.dtype(dtype).kind == "f":
            a = a.astype(np.float32 if dtype is None else dtype, copy=False)
        else:
            a = a.astype(dtype, copy=False)
    if shape is None or None in shape or a.shape[1:] == shape:
        return a
    if int(np.prod(a.shape[1:])) != int(np.prod(shape)):
        raise DataError(f"samples of shape {a.shape[1:]} do not fit the model input {name!r} of shape {shape}")
    return a.reshape((len(a),) + shape)


def prepare_x(x, sig):
    """Cast and reshape inputs to the model's input shapes where those are known."""
    if not sig.inputs:
        return map_arrays(lambda a: _input_array(a, None, None, None), x)
    if isinstance(x, dict):
        known = {name: (shape, dtype) for name, shape, dtype in sig.inputs}
        return {k: _input_array(v, k, *known.get(k, (None, None))) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        if len(x) != len(sig.inputs):
            raise DataError(f"{len(x)} input arrays for a model with {len(sig.inputs)} inputs")
        return tuple(_input_array(a, *spec) for a, spec in zip(x, sig.inputs))
    if len(sig.inputs) != 1:
        raise DataError(f"one input array for a model with {len(sig.inputs)} inputs")
    return _input_array(x, *sig.inputs[0])


def _label_array(y, name, out_shape, loss_spec):
    y = np.asarray(y)
    integer = y.dtype.kind in "iub"
    classes = out_shape[-1] if len(out_shape) > 1 else None
    if loss_spec and needs_one_hot(loss_spec) and integer and (y.ndim == 1 or y.shape[1:] == (1,)):
        y = y.reshape(-1)
        if classes is None or y.size and y.max() >= classes:
            raise DataError(f"labels for output {name!r} go up to {y.max()}, beyond its {classes} classes")
        return np.eye(classes, dtype=np.float32)[y]
    if integer and loss_spec and loss_class_name(loss_spec).startswith("Sparse"):
        return y.astype(np.int32)
    with np.errstate(over="ignore"):  # beyond float32's range becomes Inf: `prepare` refuses it
        return y.astype(np.float32)


def prepare_y(y, sig, loss_specs):
    """Labels as a tuple ordered like the outputs; one-hot where a categorical loss needs it."""
    names = sig.output_names
    if isinstance(y, dict):
        missing = [n for n in names if n not in y]
        if missing:
            raise DataError(f"no labels for outputs {missing}")
        y = tuple(y[n] for n in names)
    elif isinstance(y, (list, tuple)):
        if len(y) != len(names):
            raise DataError(f"{len(y)} label arrays for a model with outputs {names}")
        y = tuple(y)
    else:
        if len(names) != 1:
            raise DataError(f"one label array for a model with outputs {names}")
        y = (y,)
    return tuple(_label_array(a, n, s, loss_specs.get(n)) for a, n, s in zip(y, names, sig.output_shapes))


def prepare(arrays, sig, loss_specs, split="training"):
    """(x, y) ready for the pipeline, or None."""
    if arrays is None:
        return None
    x, y = prepare_x(arrays[0], sig), prepare_y(arrays[1], sig, loss_specs)
    if num_samples(x) != len(y[0]):
        raise DataError(f"{num_samples(x)} input samples but {len(y[0])} labels")
    # the data were checked as given; a value beyond the range of the model's dtype becomes Inf here
    check_finite((x, y), f"the {split} split", note=" once converted to the model's dtypes")
    return x, y
