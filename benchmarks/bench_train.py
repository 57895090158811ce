"""Training throughput: tfspec runtime vs model.fit vs fit(steps_per_execution) vs the tutorials' loop.

    python benchmarks/bench_train.py                 # MLP and CNN, about 2-3 minutes on 2 CPU cores
    python benchmarks/bench_train.py --model cnn --xla --precision mixed_float16   # GPU runs

MNIST-shaped random data (float32 28x28, labels 0..9), batch 32, Adam, sparse cross-entropy,
accuracy; the models of specs/mnist_mlp.tfs and specs/mnist_cnn.tfs (the tutorials' MLP and CNN). The methods run in rounds: one
runtime epoch of `--steps` steps, then (from a runtime callback) one `fit` epoch, one
`fit(steps_per_execution=k)` epoch and `--tutorial-steps` steps of the tutorials' eager
per-sample batching loop. Interleaving makes load drifts on a shared machine hit all methods
alike. Round 0 (tracing) is dropped; steps/s are medians over rounds, and each ratio is the
median of the per-round ratios. Prints one JSON object.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfspec.runtime import Callback, train_model  # noqa: E402

BATCH = 32
DEFAULT_STEPS = {"mlp": 300, "cnn": 30}
DEFAULT_TUTORIAL_STEPS = {"mlp": 10, "cnn": 3}


SPECS = {"mlp": "mnist_mlp.tfs", "cnn": "mnist_cnn.tfs"}


def build(kind):
    """The model of specs/mnist_mlp.tfs or specs/mnist_cnn.tfs (functional style)."""
    import tfspec

    keras.utils.set_random_seed(0)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return tfspec.build(tfspec.load(os.path.join(root, "specs", SPECS[kind])), "functional")


def data(kind, n):
    rng = np.random.default_rng(0)
    x = rng.random((n, 28, 28) + ((1,) if kind == "cnn" else ()), dtype=np.float32)
    return x, rng.integers(0, 10, n).astype(np.int32)


class EpochTimes(Callback, keras.callbacks.Callback):
    """Epoch wall times; works as a tfspec callback and as a Keras one."""

    def __init__(self):
        keras.callbacks.Callback.__init__(self)
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def compiled(kind, args, steps_per_execution):
    model = build(kind)
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
        jit_compile=args.xla,
    )
    return model


def tutorial_loop(kind, x, y):
    """The tutorials' loop: eager GradientTape step, batches assembled sample by sample in Python."""
    model, optimizer = build(kind), keras.optimizers.Adam()
    loss_function = keras.losses.SparseCategoricalCrossentropy()

    def train_step(features, labels):
        with tf.GradientTape() as tape:
            loss = loss_function(labels, model(features, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    def run(n_steps):
        x_batch, y_batch = [], []
        for step, (xs, ys) in enumerate(zip(x[: n_steps * BATCH], y[: n_steps * BATCH])):
            x_batch.append(xs)
            y_batch.append(ys)
            if step % BATCH == BATCH - 1:
                train_step(np.array(x_batch, dtype=np.float32), np.array(y_batch, dtype=np.float32))
                x_batch, y_batch = [], []

    return run


class OtherMethods(Callback):
    """After each runtime epoch, one round of every other method; records seconds per step."""

    def __init__(self, kind, x, y, args):
        k = args.steps_per_call
        self.x, self.y, self.args = x, y, args
        self.fits = {"fit": compiled(kind, args, 1), f"fit_spe{k}": compiled(kind, args, k)}
        self.timers = {name: EpochTimes() for name in self.fits}
        self.tutorial = tutorial_loop(kind, x, y)
        self.per_step = {name: [] for name in list(self.fits) + ["tutorial_loop"]}

    def on_epoch_end(self, epoch, logs=None):
        for name, model in self.fits.items():
            model.fit(self.x, self.y, batch_size=BATCH, epochs=1, verbose=0, callbacks=[self.timers[name]])
            self.per_step[name].append(self.timers[name].times[-1] / self.args.steps)
        start = time.perf_counter()
        self.tutorial(self.args.tutorial_steps)
        self.per_step["tutorial_loop"].append((time.perf_counter() - start) / self.args.tutorial_steps)


def bench(kind, args):
    x, y = data(kind, args.steps * BATCH)
    timer, others = EpochTimes(), OtherMethods(kind, x, y, args)
    training = {
        "optimizer": {"class_name": "Adam", "config": {}},
        "loss": {"class_name": "SparseCategoricalCrossentropy", "config": {}},
        "metrics": [{"class_name": "accuracy", "config": {}}],
        "epochs": args.rounds,
        "batch_size": BATCH,
        "steps_per_call": args.steps_per_call,
        "jit_compile": args.xla,
        "precision": args.precision,
        "seed": 0,
    }
    train_model(None, training, (x, y), model_fn=lambda: build(kind), quiet=True, callbacks=[timer, others])
    per_step = {"runtime": [t / args.steps for t in timer.times], **others.per_step}
    per_step = {name: times[1:] for name, times in per_step.items()}  # round 0 traces
    mine = per_step["runtime"]
    return {
        "steps_per_s": {name: round(1 / statistics.median(t), 1) for name, t in per_step.items()},
        "runtime_speedup": {
            f"vs_{name}": round(statistics.median(o / m for o, m in zip(t, mine)), 2)
            for name, t in per_step.items()
            if name != "runtime"
        },
        "steps_per_epoch": args.steps,
        "rounds": args.rounds - 1,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("mlp", "cnn", "both"), default="both")
    parser.add_argument(
        "--steps", type=int, default=None, help=f"runtime/fit steps per round (default {DEFAULT_STEPS})"
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds, the first dropped (default mlp 13, cnn 7)")
    parser.add_argument("--steps-per-call", type=int, default=25)
    parser.add_argument(
        "--tutorial-steps",
        type=int,
        default=None,
        help=f"tutorial-loop steps per round (default {DEFAULT_TUTORIAL_STEPS})",
    )
    parser.add_argument("--xla", action="store_true", help="jit_compile for the runtime and fit")
    parser.add_argument("--precision", choices=("mixed_float16", "mixed_bfloat16"), default=None)
    args = parser.parse_args(argv)
    if args.precision:
        keras.mixed_precision.set_global_policy(args.precision)
    report = {
        "device": tf.config.list_logical_devices()[-1].device_type,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "batch_size": BATCH,
        "steps_per_call": args.steps_per_call,
        "xla": args.xla,
        "precision": args.precision,
    }
    for kind in ("mlp", "cnn") if args.model == "both" else (args.model,):
        run_args = argparse.Namespace(**vars(args))
        run_args.steps = args.steps or DEFAULT_STEPS[kind]
        run_args.rounds = args.rounds or {"mlp": 13, "cnn": 7}[kind]
        run_args.tutorial_steps = args.tutorial_steps or DEFAULT_TUTORIAL_STEPS[kind]
        start = time.perf_counter()
        report[kind] = bench(kind, run_args)
        report[kind]["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
