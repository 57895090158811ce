"""The Keras-on-JAX peer of bench_train.py: a worker process that trains the same model with `fit`.

KERAS_BACKEND must be set before Keras is imported, so the JAX backend cannot share the TensorFlow
process; bench_train.py starts this worker once per model and drives it over a pipe, so that each
round of the benchmark runs every method once (load drifts on a shared machine hit all alike).

    python benchmarks/jax_peer.py JOB.json     # JOB: spec, data (.npz: x, y, w0..wn), compile settings

The model is the functional Python tfspec generates for the spec (plain Keras 3, no TensorFlow),
given the initial weights bench_train.py built with seed 0 (JAX's initialisers draw other numbers).
Protocol, one line each way: after start-up the worker writes `{"ready": ..., "jax": version}`;
then for each line "fit" or "fit_speK" it runs one `fit` epoch of that model and writes its wall
seconds; "quit" (or end of input) stops it. Keras and JAX write only to stderr.
"""

import json
import os
import sys
import time

os.environ["KERAS_BACKEND"] = "jax"
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(job_path):
    replies = os.fdopen(os.dup(1), "w", buffering=1)  # the protocol's channel
    os.dup2(2, 1)  # anything else printed goes to stderr
    import jax
    import keras
    import numpy as np

    import tfspec

    with open(job_path) as f:
        job = json.load(f)
    arrays = np.load(job["data"])
    x, y = arrays["x"], arrays["y"]
    weights = [arrays[f"w{i}"] for i in range(job["n_weights"])]
    source = tfspec.generate(tfspec.load(job["spec"]), "functional")
    models, timers = {}, {}
    for name, spe in job["methods"].items():
        namespace = {}
        exec(compile(source, f"<tfspec:{name}>", "exec"), namespace)
        keras.utils.set_random_seed(0)
        model = namespace["build_model"]()
        model.set_weights(weights)
        model.compile(
            optimizer=keras.optimizers.deserialize(job["optimizer"]),
            loss=keras.losses.deserialize(job["loss"]),
            metrics=["accuracy"],
            steps_per_execution=spe,
        )
        models[name], timers[name] = model, EpochTimes(keras)
    replies.write(json.dumps({"ready": True, "jax": jax.__version__, "backend": keras.backend.backend()}) + "\n")
    for line in sys.stdin:
        name = line.strip()
        if name in ("", "quit"):
            break
        models[name].fit(x, y, batch_size=job["batch_size"], epochs=1, verbose=0, callbacks=[timers[name]])
        replies.write(f"{timers[name].times[-1]!r}\n")


def EpochTimes(keras):
    """A Keras callback recording epoch wall times, as bench_train.EpochTimes does for TensorFlow."""

    class Times(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    return Times()


if __name__ == "__main__":
    main(sys.argv[1])
