"""What the model takes and returns, and numpy preprocessing to match it (reshape, dtype, one-hot)."""

import re
from dataclasses import dataclass, field

import numpy as np

from . import resources
from .csvsource import is_string
from .data import DTYPE_PROBLEMS, check_arrays, check_finite, map_arrays, named_leaves, num_samples, take
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


def probe(model, sig, x, where="the training data"):
    """Call the model on one sample to learn the structure and shapes of its outputs."""
    try:
        pred = model(take(x, slice(0, 1)), training=False)
    except (ValueError, TypeError) as e:
        shapes = ", ".join(f"{name} {a.shape[1:]}" for name, a in named_leaves(x, "x"))
        reason = _reason(e)
        raise DataError(
            f"{where}: calling the model on one sample of the data failed (per-sample shapes: {shapes}): "
            f"{reason}; check that x matches the model's inputs"
        ) from e
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


def _reason(error):
    """The sentence of a Keras error that says what is wrong, without its frame ("Exception encountered
    when calling Reshape.call().", "Arguments received by ...") or terminal colours."""
    layer = ""
    for line in str(error).splitlines():
        line = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
        called = re.match(r"Exception encountered when calling (\w+)", line)
        if called:
            layer = f"{called.group(1)}: "
        elif line and not line.startswith(("Arguments received", "•")):
            return (layer + line)[:300]
    return type(error).__name__


def _input_name(name):
    """'input 'image'', or 'the model's input' for Keras's automatic names."""
    return f"input {name!r}" if name and not str(name).startswith("keras_tensor") else "the model's input"


def _text_array(a, name, where, role):
    """Text for an input declared as a string: str or bytes values (numpy's str/bytes dtypes, or
    objects that are each one), which TensorFlow takes as tf.string."""
    if a.dtype.kind in "US":
        return a
    if a.dtype.kind == "O":
        flat = a.reshape(-1)
        bad = next((i for i, v in enumerate(flat) if not isinstance(v, (str, bytes))), None)
        if bad is None:
            return a
        index = np.unravel_index(bad, a.shape)
        kind = "a missing value (None)" if flat[bad] is None else f"a {type(flat[bad]).__name__}"
        raise DataError(
            f"{where}: {role} holds {kind} at sample {int(index[0])} but {_input_name(name)} takes text (a string "
            "per value); fill in or drop such samples"
        )
    raise DataError(
        f"{where}: {role} holds {a.dtype} values but {_input_name(name)} is declared as a string (it takes text); "
        "give text, or declare the input with a number dtype"
    )


def _input_array(a, name, shape, dtype, where="the data", role="x"):
    a = np.asarray(a)
    if dtype is not None and is_string(dtype):
        a = _text_array(a, name, where, role)
    elif a.dtype.kind in "USO" and not (a.dtype.kind == "O" and a.size == 0):
        problem = DTYPE_PROBLEMS[a.dtype.kind].format(dtype=a.dtype, name=role.split("[")[0])
        hint = f"; or declare {_input_name(name)} as a string (name: string[...]) to feed it text" if name else ""
        raise DataError(f"{where}: {role} {problem}{hint}")
    target = a.dtype if dtype is not None and is_string(dtype) else np.dtype(np.float32 if dtype is None else dtype)
    if target.kind in "iu" and a.dtype.kind == "f" and not np.array_equal(a, np.round(a)):
        raise DataError(
            f"{where}: {role} holds values that are not whole numbers but {_input_name(name)} takes {target} "
            "(e.g. token ids); give integers"
        )
    if a.dtype != target:
        resources.require_memory(
            a.size * target.itemsize,
            f"{where}: {role} converted to {target}",
            f"give {role} as {target} already, or train on fewer samples (limit=N)",
        )
    with np.errstate(over="ignore"):  # a value beyond the dtype's range becomes Inf: `prepare` refuses it
        a = a.astype(target, copy=False)
    if shape is None or None in shape or a.shape[1:] == shape:
        return a
    if int(np.prod(a.shape[1:])) != int(np.prod(shape)):
        raise DataError(
            f"{where}: {role} has samples of shape {a.shape[1:]} ({int(np.prod(a.shape[1:])):,} values), which do "
            f"not fit {_input_name(name)} of shape {shape} ({int(np.prod(shape)):,} values); give {role} the shape "
            f"(samples, {', '.join(str(d) for d in shape)})"
        )
    return a.reshape((len(a),) + shape)


def prepare_x(x, sig, where="the data"):
    """Cast and reshape inputs to the model's input shapes where those are known."""
    if not sig.inputs:
        return map_arrays(lambda a: _input_array(a, None, None, None, where), x)
    if isinstance(x, dict):
        known = {name: (shape, dtype) for name, shape, dtype in sig.inputs}
        missing = [name for name in known if name not in x]
        if missing and any(name in known for name in x):
            raise DataError(f"{where}: x has no array for input {missing[0]!r} (it has {', '.join(map(str, x))})")
        return {k: _input_array(v, k, *known.get(k, (None, None)), where, f"x[{k!r}]") for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        if len(x) != len(sig.inputs):
            raise DataError(f"{where}: {len(x)} input arrays for a model with {len(sig.inputs)} inputs")
        return tuple(_input_array(a, *spec, where, f"x[{i}]") for i, (a, spec) in enumerate(zip(x, sig.inputs)))
    if len(sig.inputs) != 1:
        raise DataError(f"{where}: one input array for a model with {len(sig.inputs)} inputs")
    return _input_array(x, *sig.inputs[0], where)


# Losses whose labels are class indices (one fewer axis than the output), those that take labels in
# [0, 1], and those whose labels have a shape of their own (CTC: label sequences; Circle: ids).
SPARSE_LOSSES = ("SparseCategoricalCrossentropy", "CategoricalGeneralizedCrossEntropy")
BINARY_LOSSES = ("BinaryCrossentropy", "BinaryFocalCrossentropy")
FREE_SHAPE_LOSSES = ("CTC", "Circle")


def _whole(y):
    return y.dtype.kind in "biu" or bool(np.array_equal(y, np.round(y)))


def _class_range(y, ignore=None):
    values = y if ignore is None else y[y != ignore]
    return (int(values.min()), int(values.max())) if values.size else (0, 0)


class _Labels:
    """One label array against one output: what is wrong, in one line, and the fix."""

    def __init__(self, y, role, output, out_shape, loss, where, input_shapes):
        self.y, self.role, self.output, self.loss, self.where = y, role, output, loss, where
        self.shape = tuple(out_shape[1:])  # per sample
        self.units = self.shape[-1] if self.shape else 1
        self.lead = self.shape[:-1]
        self.input_shapes = input_shapes

    def fail(self, text):
        raise DataError(f"{self.where}: {self.role} {text}")

    def index_shaped(self):
        """Class indices rather than one-hot rows: one axis fewer than the output (or a last axis of 1)."""
        return self.y.shape[1:] in (self.lead, self.lead + (1,)) and self.y.shape[1:] != self.shape

    def class_indices(self, ignore=None):
        """Whole numbers 0..units-1 (the classes of the output), else a DataError saying which fix."""
        y, units, out = self.y, self.units, f"output {self.output!r}"
        if not _whole(y):
            self.fail(
                f"holds values that are not whole numbers but {self.loss} takes class indices 0..{units - 1}; for "
                "continuous targets use a regression loss such as MeanSquaredError"
            )
        low, high = _class_range(y, ignore)
        if low >= 0 and high < units:
            return
        if low < 0:
            skip = " (or set ignore_class on the loss to skip a label such as -1)" if "Sparse" in self.loss else ""
            self.fail(
                f"holds negative class labels (the lowest is {low}) but the classes of {out} are 0..{units - 1}; "
                f"relabel them from 0{skip}"
            )
        if units == 1:
            self.fail(
                f"holds class labels {low}..{high} ({high + 1} classes) but {out} has 1 unit; {self.loss} needs one "
                f'unit per class: end the model with Dense({high + 1}, activation="softmax"), or, for 0/1 labels, '
                'use BinaryCrossentropy with Dense(1, activation="sigmoid")'
            )
        self.fail(
            f"holds class labels up to {high} ({high + 1} classes) but {out} has {units} units (classes "
            f'0..{units - 1}); give it {high + 1} units (Dense({high + 1}, activation="softmax")), or relabel the '
            f"classes 0..{units - 1}"
        )

    def sparse(self, config):
        y = self.y
        if y.shape[1:] == self.shape and self.units > 1:
            one_hot = y.dtype.kind in "biuf" and np.isin(y, (0, 1)).all() and np.all(y.sum(axis=-1) == 1)
            kind = "looks one-hot (one 1 per sample)" if one_hot else "has the output's shape"
            self.fail(
                f"{kind}, shape {y.shape[1:]} like output {self.output!r}, but {self.loss} takes one class index per "
                f"sample: use CategoricalCrossentropy, or give {self.role}.argmax(-1)"
            )
        if y.shape[1:] not in (self.lead, self.lead + (1,)):
            self.shape_mismatch(y.shape[1:], f"{self.loss} takes one class index per sample, shape {self.lead}")
        self.class_indices(config.get("ignore_class"))
        return y.astype(np.int32)

    def categorical(self):
        y = self.y
        if not self.index_shaped() or self.units < 2:
            return self.dense(y.astype(np.float32))
        self.class_indices()
        indices = y.reshape(y.shape[: 1 + len(self.lead)]).astype(np.intp)
        resources.require_memory(
            indices.size * self.units * 4,
            f"{self.where}: {self.role} as one-hot labels ({self.units} classes)",
            "use SparseCategoricalCrossentropy, which takes the class indices as they are",
        )
        return np.eye(self.units, dtype=np.float32)[indices]

    def binary(self):
        y = self.y
        if y.size and (y.min() < 0 or y.max() > 1):
            low, high = y.min(), y.max()
            if _whole(y) and low >= 0:
                fix = (
                    f"for {int(high) + 1} classes use SparseCategoricalCrossentropy with "
                    f'Dense({int(high) + 1}, activation="softmax")'
                )
            else:
                fix = "rescale them to [0, 1]"
            self.fail(
                f"holds values from {low:g} to {high:g} but {self.loss} takes labels in [0, 1] (0/1, or "
                f"probabilities); {fix}"
            )
        return self.dense(y.astype(np.float32))

    def dense(self, y):
        """Labels compared value by value with the output: its shape, give or take a last axis of 1
        (what Keras's losses squeeze or expand)."""
        per = y.shape[1:]
        if per + (1,) == self.shape:
            return y.reshape((len(y),) + self.shape)  # the output's rank: metrics such as BinaryCrossentropy need it
        if per == self.shape or per == self.shape + (1,):
            return y
        return self.shape_mismatch(per, f"{self.loss} needs labels of the output's shape")

    def shape_mismatch(self, per, need):
        hint = ""
        if self.shape in self.input_shapes and per != self.shape:
            hint = (
                "; the output has the input's shape: an autoencoder's labels are its inputs, y = x (data=(x, x), "
                'or npz("file.npz", y="x"))'
            )
        elif per in ((), (1,)) and self.units > 1 and _whole(self.y) and self.loss not in SPARSE_LOSSES:
            hint = "; for class labels use SparseCategoricalCrossentropy"
        self.fail(f"has per-sample shape {per} but output {self.output!r} has shape {self.shape}: {need}{hint}")


def _label_array(y, name, out_shape, loss_spec, where="the data", role="y", input_shapes=()):
    y = np.asarray(y)
    if not loss_spec:
        with np.errstate(over="ignore"):
            return y.astype(np.float32)
    loss = loss_class_name(loss_spec)
    labels = _Labels(y, role, name, out_shape, loss, where, [tuple(s) for s in input_shapes])
    if loss in SPARSE_LOSSES:
        return labels.sparse(loss_spec.get("config") or {})
    if needs_one_hot(loss_spec):
        return labels.categorical()
    if loss in BINARY_LOSSES:
        return labels.binary()
    with np.errstate(over="ignore"):  # beyond float32's range becomes Inf: `prepare` refuses it
        y = y.astype(np.float32)
    return y if loss in FREE_SHAPE_LOSSES else labels.dense(y)


def prepare_y(y, sig, loss_specs, where="the data", input_shapes=()):
    """Labels as a tuple ordered like the outputs; one-hot where a categorical loss needs it."""
    names = sig.output_names
    if isinstance(y, dict):
        missing = [n for n in names if n not in y]
        if missing:
            raise DataError(f"{where}: y has no labels for output {missing[0]!r} (it has {', '.join(map(str, y))})")
        y, roles = tuple(y[n] for n in names), [f"y[{n!r}]" for n in names]
    elif isinstance(y, (list, tuple)):
        if len(y) != len(names):
            raise DataError(f"{where}: {len(y)} label arrays for a model with outputs {names}")
        y, roles = tuple(y), [f"y[{i}]" for i in range(len(y))]
    else:
        if len(names) != 1:
            raise DataError(f"{where}: one label array for a model with outputs {names}")
        y, roles = (y,), ["y"]
    return tuple(
        _label_array(a, n, s, loss_specs.get(n), where, role, input_shapes)
        for a, n, s, role in zip(y, names, sig.output_shapes, roles)
    )


def prepare(arrays, sig, loss_specs, split="training", where=None):
    """(x, y) ready for the pipeline, or None. `where` names the data in messages."""
    if arrays is None:
        return None
    where = where or f"the {split} data"
    check_arrays(arrays, where, sig.inputs)
    x = prepare_x(arrays[0], sig, where)
    y = prepare_y(arrays[1], sig, loss_specs, where, [a.shape[1:] for a in _leaves(x)])
    if num_samples(x) != len(y[0]):
        raise DataError(f"{where}: {num_samples(x)} input samples but {len(y[0])} labels")
    # the data were checked as given; a value beyond the range of the model's dtype becomes Inf here
    check_finite((x, y), f"the {split} split", note=" once converted to the model's dtypes")
    return x, y


def _leaves(x):
    return [a for _, a in named_leaves(x, "x")]
