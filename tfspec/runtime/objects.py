"""Keras optimizers, schedules, losses and metrics from the spec's {"class_name", "config"} dicts."""

import re

import keras
import tensorflow as tf
from keras.src.backend import get_keras_mask  # not public; what Keras's own losses use
from keras.src.losses.loss import squeeze_or_expand_to_same_rank

LOSS_ALIASES = {
    "mse": "MeanSquaredError",
    "mae": "MeanAbsoluteError",
    "mape": "MeanAbsolutePercentageError",
    "msle": "MeanSquaredLogarithmicError",
}
METRIC_ALIASES = {
    "mse": "MeanSquaredError",
    "mae": "MeanAbsoluteError",
    "mape": "MeanAbsolutePercentageError",
    "msle": "MeanSquaredLogarithmicError",
    "rmse": "RootMeanSquaredError",
    "auc": "AUC",
    "precision": "Precision",
    "recall": "Recall",
}
# Keras's reductions that make one value of a batch (keras/src/losses/loss.py `reduce_values`).
REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight", "sum")
CATEGORICAL_LOSSES = ("CategoricalCrossentropy", "CategoricalFocalCrossentropy", "CategoricalHinge")


def _camel(name):
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _snake(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _lookup(module, name, base, kind):
    cls = getattr(module, name, None) or getattr(module, _camel(name), None)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ValueError(f"unknown {kind} {name!r}")
    return cls


def make_schedule(spec):
    """A keras.optimizers.schedules.LearningRateSchedule from its spec dict."""
    cls = _lookup(
        keras.optimizers.schedules,
        spec["class_name"],
        keras.optimizers.schedules.LearningRateSchedule,
        "learning-rate schedule",
    )
    return cls(**spec.get("config", {}))


def make_optimizer(spec, precision=None):
    """The optimizer; wrapped in LossScaleOptimizer for mixed_float16."""
    config = dict(spec.get("config", {}))
    if isinstance(config.get("learning_rate"), dict):
        config["learning_rate"] = make_schedule(config["learning_rate"])
    cls = _lookup(keras.optimizers, spec["class_name"], keras.optimizers.Optimizer, "optimizer")
    optimizer = cls(**config)
    if precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def fuse_adam(optimizer):
    """Run plain Adam's per-variable update as TensorFlow's fused ResourceApplyAdam kernel.

    Same formula as keras.optimizers.Adam.update_step (alpha = lr*sqrt(1-b2^t)/(1-b1^t);
    m += (g-m)(1-b1); v += (g^2-v)(1-b2); var -= m*alpha/(sqrt(v)+eps)) in one pass instead of a
    dozen element-wise ops: ~1.2x faster training of small models on CPU. Clipping, weight decay
    (so AdamW too), EMA, accumulation and the iteration count stay Keras's. Single-device runs
    only; other optimizers (and amsgrad) are left alone. Returns whether the fused update is in use.
    """
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    if (
        type(inner) not in (keras.optimizers.Adam, keras.optimizers.AdamW)
        or inner.amsgrad
        or not all(hasattr(inner, a) for a in ("_momentums", "_velocities", "_get_variable_index"))
    ):
        return False

    def handle(variable):
        return (variable.value if isinstance(variable, keras.Variable) else variable).handle

    def update_step(gradient, variable, learning_rate):
        dtype = variable.dtype
        index = inner._get_variable_index(variable)
        step = tf.cast(inner.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(inner.beta_1, dtype), tf.cast(inner.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=handle(variable),
            m=handle(inner._momentums[index]),
            v=handle(inner._velocities[index]),
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(inner.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )

    inner.update_step = update_step
    return True


def loss_class_name(spec):
    name = spec["class_name"]
    return LOSS_ALIASES.get(name.lower(), _camel(name))


def make_loss(spec):
    """A Keras loss; the runtime reduces its per-element values itself, the way its `reduction` says."""
    cls = _lookup(keras.losses, loss_class_name(spec), keras.losses.Loss, "loss")
    loss = cls(**dict(spec.get("config", {})))
    if loss.reduction not in REDUCTIONS:
        raise ValueError(
            f"loss {spec['class_name']!r}: reduction {loss.reduction!r} cannot train (a loss must reduce to one "
            f"value; use one of {', '.join(REDUCTIONS)})"
        )
    return loss


def needs_one_hot(loss_spec):
    return loss_class_name(loss_spec) in CATEGORICAL_LOSSES


def make_metric(spec, y_true_shape, y_pred_shape, loss_spec):
    """A metric; "accuracy"/"acc" resolve to binary/sparse/categorical like `compile` does."""
    name = spec["class_name"]
    config = dict(spec.get("config", {}))
    if name.lower() in ("accuracy", "acc"):
        config.setdefault("name", name)
        loss_name = loss_class_name(loss_spec) if loss_spec else ""
        if y_pred_shape[-1] == 1 or "Binary" in loss_name:
            return keras.metrics.BinaryAccuracy(**config)
        if len(y_true_shape) < len(y_pred_shape) or y_true_shape[-1] == 1:
            return keras.metrics.SparseCategoricalAccuracy(**config)
        return keras.metrics.CategoricalAccuracy(**config)
    alias = METRIC_ALIASES.get(name)
    if alias:
        config.setdefault("name", name)
        name = alias
    cls = _lookup(keras.metrics, name, keras.metrics.Metric, "metric")
    config.setdefault("name", _snake(cls.__name__))  # not Keras's auto names (auc_1, auc_2...)
    return cls(**config)


class Objective:
    """Per-output losses and weights, reduced exactly like Keras's `compile`/`fit` but split in two.

    For each output, `terms` returns the numerator and the divisor of the value Keras's loss
    computes for the batch (`Loss.__call__`: `call`, then the mask of `y_pred` and of the values
    merged into the weights by `apply_mask`, then `reduce_values`), so that the caller can add the
    divisors over replicas and divide once: on several replicas the loss is that of the global batch.

    - sum_over_batch_size / mean: sum(values * mask) / (valid * N / total), where N is the number of
      values, total the number of mask entries and valid the number of true ones (Keras weights
      each valid value total/valid and divides by N); without a mask sum(values) / N; 0 if nothing
      is valid (Keras's divide_no_nan);
    - mean_with_sample_weight: sum(values * mask) / valid; without a mask sum(values) / N;
    - sum: sum(values * mask), no divisor (None).
    """

    def __init__(self, loss_spec, output_names, loss_weights=None):
        self.output_names = list(output_names)
        if "class_name" in loss_spec:
            specs = {name: loss_spec for name in self.output_names}
        else:
            unknown = [n for n in loss_spec if n not in self.output_names]
            if unknown or not loss_spec:
                raise ValueError(
                    f"losses given for outputs {sorted(loss_spec)}; the model's outputs are {self.output_names}"
                )
            specs = dict(loss_spec)
        self.specs = specs
        self.losses = [make_loss(specs[n]) if n in specs else None for n in self.output_names]
        weights = loss_weights or {}
        self.weights = [float(weights.get(n, 1.0)) for n in self.output_names]
        # outputs whose divisor is added over replicas (those with a loss that is not a plain sum)
        self.divided = [i for i, loss in enumerate(self.losses) if loss is not None and loss.reduction != "sum"]

    def terms(self, y_true, y_pred, n):
        """([numerator per output], [divisor per output in self.divided]) as float32 scalars, for a
        batch of `n` samples (a float32 scalar)."""
        numerators, divisors = [], []
        for loss, yt, yp in zip(self.losses, y_true, y_pred):
            if loss is None:
                numerators.append(tf.constant(0.0))
                continue
            numerator, divisor = _reduce_parts(loss, yt, yp, n)
            numerators.append(numerator)
            if divisor is not None:
                divisors.append(divisor)
        return numerators, divisors

    def losses_of(self, numerators, divisors):
        """Each output's loss (unweighted) from its numerator and its (global) divisor."""
        out, divisor_of = [], dict(zip(self.divided, divisors))
        for i, numerator in enumerate(numerators):
            out.append(tf.math.divide_no_nan(numerator, divisor_of[i]) if i in divisor_of else numerator)
        return out

    def total(self, losses):
        terms = [v if w == 1.0 else w * v for w, v, loss in zip(self.weights, losses, self.losses) if loss is not None]
        if not terms:
            return tf.constant(0.0)
        return tf.add_n(terms) if len(terms) > 1 else terms[0]


def _reduce_parts(loss, y_true, y_pred, n):
    """Numerator and divisor (None for a sum) of `loss(y_true, y_pred)` as Keras reduces it."""
    in_mask = get_keras_mask(y_pred)
    y_pred = keras.ops.convert_to_tensor(y_pred, dtype=loss.dtype)
    y_true = keras.ops.convert_to_tensor(y_true, dtype=loss.dtype)
    values = loss.call(y_true, y_pred)
    out_mask = get_keras_mask(values)
    if in_mask is not None and out_mask is not None:
        mask = tf.logical_and(tf.cast(in_mask, tf.bool), tf.cast(out_mask, tf.bool))
    else:
        mask = in_mask if in_mask is not None else out_mask
    values = tf.cast(values, tf.float32)
    if mask is None:
        if loss.reduction == "sum":
            return tf.reduce_sum(values), None
        per_sample = values.shape[1:].num_elements()  # the number of values: without a Size op if known
        if per_sample is None:
            count = tf.cast(tf.size(values), tf.float32)
        else:
            count = n if per_sample == 1 else n * per_sample
        return tf.reduce_sum(values), count
    mask = tf.cast(mask, tf.float32)
    total, valid = tf.cast(tf.size(mask), tf.float32), tf.reduce_sum(mask)
    values, mask = squeeze_or_expand_to_same_rank(values, mask)
    weighted = values * mask
    if loss.reduction == "sum":
        return tf.reduce_sum(weighted), None
    if loss.reduction == "mean_with_sample_weight":
        return tf.reduce_sum(weighted), valid
    return tf.reduce_sum(weighted), valid * tf.math.divide_no_nan(tf.cast(tf.size(weighted), tf.float32), total)
