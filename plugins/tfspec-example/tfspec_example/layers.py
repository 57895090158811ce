"""The Keras classes of the example plugin: what generated code imports (`import
tfspec_example.layers as example`) and what the tfspec runtime makes for the train section.

Each class is registered with Keras under the package "tfspec_example", so a `.keras` file that
holds one loads again wherever this package is installed.
"""

import keras
from keras import ops

from tfspec.runtime.callbacks import Callback

register = keras.saving.register_keras_serializable(package="tfspec_example")


@register
class Sampling(keras.layers.Layer):
    """z = z_mean + exp(z_log_var / 2) * eps with eps ~ N(0, 1), one draw per value and call."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = keras.random.normal(ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@register
class Linear(keras.layers.Layer):
    """x @ w + b: w from N(0, 0.05), b zeros (the Keras overview's Linear)."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register
class ActivitySparsity(keras.layers.Layer):
    """Passes its input through; adds rate * sum(x**2) to the loss (the Keras overview's
    ActivityRegularization layer)."""

    def __init__(self, rate=1e-2, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.sum(ops.square(inputs)))
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


@register
class SummedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy summed over each sample's values: one value per sample."""

    def __init__(self, reduction="sum_over_batch_size", name="summed_binary_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        y_true = ops.cast(ops.reshape(y_true, ops.shape(y_pred)), y_pred.dtype)
        values = ops.binary_crossentropy(y_true, y_pred)
        return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=-1)


@register
class BinaryTruePositives(keras.metrics.Metric):
    """How many samples are labelled 1 and predicted above threshold."""

    def __init__(self, threshold=0.5, name="binary_true_positives", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.threshold = threshold
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        hits = ops.logical_and(ops.cast(y_true, "bool"), y_pred > self.threshold)
        hits = ops.cast(hits, self.dtype)
        if sample_weight is not None:
            hits = hits * ops.cast(sample_weight, self.dtype)
        self.true_positives.assign_add(ops.sum(hits))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class StopAtLoss(Callback):
    """Stops training after the first epoch whose `monitor` value is below `threshold`."""

    def __init__(self, threshold, monitor="loss"):
        self.threshold = threshold
        self.monitor = monitor

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.threshold:
            self.loop.stop_training = True
