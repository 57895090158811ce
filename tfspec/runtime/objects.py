"""Keras optimizers, schedules, losses and metrics from the spec's {"class_name", "config"} dicts."""

import keras
import tensorflow as tf
from keras.src.backend import get_keras_mask  # not public; what Keras's own losses use
from keras.src.losses.loss import squeeze_or_expand_to_same_rank

from .. import plugins
from ..check import train_catalog as catalog
from .errors import SettingsError

CATEGORICAL_LOSSES = ("CategoricalCrossentropy", "CategoricalFocalCrossentropy", "CategoricalHinge")


def judged(kind, spec):
    """(catalog entry, config for Keras) of a {"class_name", "config"} dict; a TrainingError naming
    the first problem when the train catalog refuses it (the same judgement as `tfspec check`)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise SettingsError(f"a {catalog.KINDS[kind][0]} must be given as {{'class_name': ..., 'config': {{...}}}}")
    entry = catalog.lookup(kind, spec["class_name"])
    if entry is None:
        known = ", ".join(sorted(catalog.ENTRIES[kind]))
        raise SettingsError(f"unknown {catalog.KINDS[kind][0]} {spec['class_name']!r} (known: {known})")
    config = dict(spec.get("config") or {})
    found = catalog.problems(entry, config)
    if found:
        raise SettingsError(found[0][2])
    return entry, catalog.plain_config(entry, config)


def make_schedule(spec):
    """A keras.optimizers.schedules.LearningRateSchedule from its spec dict."""
    entry, config = judged("schedule", spec)
    return getattr(keras.optimizers.schedules, entry.name)(**config)


def make_optimizer(spec, precision=None):
    """The optimizer; wrapped in LossScaleOptimizer for mixed_float16."""
    entry, config = judged("optimizer", spec)
    if isinstance(config.get("learning_rate"), dict):
        config["learning_rate"] = make_schedule(config["learning_rate"])
    optimizer = getattr(keras.optimizers, entry.name)(**config)
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
    entry = catalog.lookup("loss", spec["class_name"])
    return entry.name if entry else spec["class_name"]


def make_loss(spec):
    """A Keras loss; the runtime reduces its per-element values itself, the way its `reduction` says."""
    entry, config = judged("loss", spec)
    return keras_class("loss", entry, keras.losses)(**config)  # the catalog allows only reductions to one value


def needs_one_hot(loss_spec):
    return loss_class_name(loss_spec) in CATEGORICAL_LOSSES


def make_metric(spec, y_true_shape, y_pred_shape, loss_spec):
    """A metric; "accuracy"/"acc" resolve to binary/sparse/categorical like `compile` does."""
    entry, config = judged("metric", spec)
    config["name"] = catalog.metric_log_name(spec)  # not Keras's auto names (auc_1, auc_2...)
    label_form(entry.name, y_true_shape, y_pred_shape)
    if entry.name == "accuracy":
        loss_name = loss_class_name(loss_spec) if loss_spec else ""
        if y_pred_shape[-1] == 1 or "Binary" in loss_name:
            return keras.metrics.BinaryAccuracy(**config)
        if len(y_true_shape) < len(y_pred_shape) or y_true_shape[-1] == 1:
            return keras.metrics.SparseCategoricalAccuracy(**config)
        return keras.metrics.CategoricalAccuracy(**config)
    return keras_class("metric", entry, keras.metrics)(**config)


def keras_class(kind, entry, module):
    """The class of a train-catalog entry: a plugin's, or Keras's own in `module`."""
    found = plugins.keras_class(kind, entry.name) if entry.plugin else None
    return found if found is not None else getattr(module, entry.name)


def label_form(metric, y_true_shape, y_pred_shape):
    """Refuse a metric that reads labels in another form than the labels have (the train catalog's
    rule, which `check` applies to the loss)."""
    units = y_pred_shape[-1] if len(y_pred_shape) > 1 else 1
    ids = len(y_true_shape) < len(y_pred_shape) or (units > 1 and y_true_shape[-1] == 1)
    found = catalog.label_form_problem(metric, ids, units)
    if found:
        raise SettingsError(f"metric {metric}: {found[0]}; {found[1]}")


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
