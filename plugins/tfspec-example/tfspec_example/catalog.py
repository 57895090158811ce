"""The catalog entries of the example plugin: pure Python, read by `tfspec check` and friends.

Each entry names a class of `tfspec_example.layers` and says what its constructor takes, how it
shapes its inputs and how many weights it makes, so a spec using it is checked like any other.
"""

from tfspec.plugin import POS_INT as UNITS
from tfspec.plugin import (
    REQUIRED,
    Arg,
    Callback,
    Layer,
    Loss,
    Metric,
    Plugin,
    Setting,
    ShapeError,
    Type,
    float_type,
    fmt,
    last_dim,
    number,
    text,
)

SEED = Type(
    "seed (None or an integer)",
    lambda v: (
        None
        if v is None or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32)
        else f"expected None or an integer from 0 to 2**32 - 1, got {v!r}"
    ),
)


def sampling_shape(ins, a):
    mean, log_var = ins
    if len(mean) != len(log_var) or any(m is not None and v is not None and m != v for m, v in zip(mean, log_var)):
        raise ShapeError(
            f"Sampling needs z_mean and z_log_var of the same shape, got {fmt(mean)} and {fmt(log_var)}",
            "make both with the same layer, e.g. two Dense(latent_dim)",
        )
    return mean


def linear_shape(ins, a):
    (x,) = ins
    last_dim(x, "Linear")
    return x[:-1] + (a["units"],)


def linear_params(ins, a, out):
    return (last_dim(ins[0], "Linear") * a["units"] + a["units"], 0)


PLUGIN = Plugin(
    name="example",
    module="tfspec_example.layers",
    version="0.1.0",
    doc="The layers the Keras overview builds by hand, and a loss, a metric and a callback.",
    layers=(
        Layer(
            "Sampling",
            args=(Arg("seed", SEED),),
            inputs=(2, 2),
            shape=sampling_shape,
            doc="Draws z = z_mean + exp(z_log_var / 2) * eps, eps ~ N(0, 1): `[z_mean, z_log_var] -> Sampling() -> z` "
            "(the reparameterisation of a variational autoencoder).",
        ),
        Layer(
            "Linear",
            args=(Arg("units", UNITS, 32),),
            shape=linear_shape,
            params=linear_params,
            doc="x @ w + b, w drawn from N(0, 0.05), b zeros: the Keras overview's first custom layer.",
        ),
        Layer(
            "ActivitySparsity",
            args=(Arg("rate", float_type(minimum=0, name="rate ≥ 0"), 1e-2),),
            doc="Passes its input through and adds rate * sum(x**2) (over the batch too) to the model's "
            "loss with add_loss, as the Keras overview's ActivityRegularization layer does.",
        ),
    ),
    losses=(
        Loss(
            "SummedBinaryCrossentropy",
            doc="Binary cross-entropy summed over every axis of a sample (a picture's pixels), then averaged "
            "over the batch: the reconstruction term of keras.io's variational autoencoder.",
        ),
    ),
    metrics=(
        Metric(
            "BinaryTruePositives",
            (Setting("threshold", number(0, 1, low_open=True, high_open=True, good=(0.5,)), 0.5, "positive above"),),
            doc="The number of true positives seen (0/1 labels, outputs above threshold).",
        ),
    ),
    callbacks=(
        Callback(
            "StopAtLoss",
            (
                Setting("threshold", number(good=(0.1,)), REQUIRED, "stop once the monitored value is below"),
                Setting("monitor", text(good=("loss", "val_loss")), "loss", "the logged value to watch"),
            ),
            doc="Stops training after the first epoch whose monitored value is below threshold.",
        ),
    ),
)
