"""Training throughput: tfspec runtime vs model.fit vs fit(steps_per_execution) vs the tutorials' loop,
and vs Keras `fit` on the JAX backend.

    python benchmarks/bench_train.py                 # MLP and CNN, about 2-3 minutes on 2 CPU cores
    python benchmarks/bench_train.py --model all     # also the LSTM text model and the residual CNN
    python benchmarks/bench_train.py --model cnn --xla --precision mixed_float16   # GPU runs

The models of specs/mnist_mlp.tfs, mnist_cnn.tfs (the tutorials' MLP and CNN), lstm_text.tfs and
residual_cnn.tfs, each with its spec's optimizer, loss and batch size and the accuracy metric, on
random data of its inputs' shape: MNIST-shaped float32 images with labels 0..9, or 48 word ids
(0-padded, so the mask is live) with 0/1 labels. The methods run in rounds: one runtime epoch
of `--steps` steps, then (from a runtime callback) one `fit` epoch, one
`fit(steps_per_execution=k)` epoch, `--tutorial-steps` steps of the tutorials' eager per-sample
batching loop, and one epoch each of Keras-on-JAX `fit` and `fit(steps_per_execution=k)` (run by
benchmarks/jax_peer.py, a worker process, as KERAS_BACKEND must be set before Keras is imported;
same model source, initial weights and data; needs `pip install -e ".[bench]"`, else those
columns are skipped with a note). Interleaving makes load drifts on a shared machine hit all
methods alike. Round 0 (tracing) is dropped; steps/s are medians over rounds, and each ratio is
the median of the per-round ratios. Prints one JSON object.

Each model runs in a process of its own, with the thread pools tfspec would choose for it
(tfspec.threads, applied before TensorFlow's first op; they hold for every TensorFlow method of
that process alike; --default-threads keeps TensorFlow's own, to measure that lever). Then the
runtime and `fit` each train the model once more alone, in a fresh process, for peak resident
memory: the process's peak, and the peak above what it held once TensorFlow was loaded and the
arrays made (`training_rss_mib`; --no-memory skips these runs).
"""

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfspec.runtime import Callback, train_model  # noqa: E402

ADAM = {"class_name": "Adam", "config": {}}
SPARSE_CE = {"class_name": "SparseCategoricalCrossentropy", "config": {}}
# per model: its spec, optimizer, loss and batch size (the spec's), and the default sizes of a run
# (steps per round, rounds with round 0 dropped, tutorial-loop steps per round): 1-3 minutes each
# on 2 CPU cores
MODELS = {
    "mlp": {"spec": "mnist_mlp.tfs", "optimizer": ADAM, "loss": SPARSE_CE, "batch": 32},
    "cnn": {"spec": "mnist_cnn.tfs", "optimizer": ADAM, "loss": SPARSE_CE, "batch": 32},
    "lstm": {
        "spec": "lstm_text.tfs",
        "optimizer": {"class_name": "RMSprop", "config": {"learning_rate": 1e-3}},
        "loss": {"class_name": "BinaryCrossentropy", "config": {}},
        "batch": 64,
    },
    "residual": {
        "spec": "residual_cnn.tfs",
        "optimizer": {"class_name": "AdamW", "config": {"learning_rate": 1e-3, "weight_decay": 1e-4}},
        "loss": SPARSE_CE,
        "batch": 64,
    },
}
DEFAULT_STEPS = {"mlp": 300, "cnn": 30, "lstm": 125, "residual": 25}
DEFAULT_ROUNDS = {"mlp": 13, "cnn": 7, "lstm": 9, "residual": 9}
DEFAULT_TUTORIAL_STEPS = {"mlp": 10, "cnn": 3, "lstm": 3, "residual": 2}
SEQUENCE = 48  # words per LSTM example, as in specs/data/austen_speech.npz
VOCABULARY = 10000


def spec_path(kind):
    return os.path.join(ROOT, "specs", MODELS[kind]["spec"])


def build(kind):
    """The model of the spec (functional style), seed 0: every method starts from the same weights."""
    import tfspec

    keras.utils.set_random_seed(0)
    return tfspec.build(tfspec.load(spec_path(kind)), "functional")


def data(kind, n):
    rng = np.random.default_rng(0)
    if kind == "lstm":
        tokens = rng.integers(1, VOCABULARY, (n, SEQUENCE)).astype(np.int32)
        lengths = rng.integers(SEQUENCE // 4, SEQUENCE + 1, n)
        tokens[np.arange(SEQUENCE) >= lengths[:, None]] = 0  # padding, masked by the Embedding
        return tokens, rng.integers(0, 2, (n, 1)).astype(np.float32)
    x = rng.random((n, 28, 28) + (() if kind == "mlp" else (1,)), dtype=np.float32)
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
        optimizer=keras.optimizers.deserialize(MODELS[kind]["optimizer"]),
        loss=keras.losses.deserialize(MODELS[kind]["loss"]),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
        jit_compile=args.xla,
    )
    return model


def tutorial_loop(kind, x, y):
    """The tutorials' loop: eager GradientTape step, batches assembled sample by sample in Python."""
    model = build(kind)
    optimizer = keras.optimizers.deserialize(MODELS[kind]["optimizer"])
    loss_function = keras.losses.deserialize(MODELS[kind]["loss"])
    batch = MODELS[kind]["batch"]

    def train_step(features, labels):
        with tf.GradientTape() as tape:
            loss = loss_function(labels, model(features, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    def run(n_steps):
        x_batch, y_batch = [], []
        for step, (xs, ys) in enumerate(zip(x[: n_steps * batch], y[: n_steps * batch])):
            x_batch.append(xs)
            y_batch.append(ys)
            if step % batch == batch - 1:
                train_step(np.array(x_batch, dtype=x.dtype), np.array(y_batch, dtype=np.float32))
                x_batch, y_batch = [], []

    return run


class JaxPeer:
    """Keras `fit` on the JAX backend, in a worker process (benchmarks/jax_peer.py) fed over a pipe:
    `epoch(name)` runs one epoch of method `name` there and returns its wall seconds."""

    def __init__(self, kind, x, y, methods):
        self.folder = tempfile.TemporaryDirectory(prefix="tfspec-bench-")
        weights = build(kind).get_weights()  # JAX's initialisers draw other numbers: hand it ours
        arrays = os.path.join(self.folder.name, "data.npz")
        np.savez(arrays, x=x, y=y, **{f"w{i}": w for i, w in enumerate(weights)})
        job = {
            "spec": spec_path(kind),
            "data": arrays,
            "n_weights": len(weights),
            "optimizer": MODELS[kind]["optimizer"],
            "loss": MODELS[kind]["loss"],
            "batch_size": MODELS[kind]["batch"],
            "methods": methods,
        }
        job_path = os.path.join(self.folder.name, "job.json")
        with open(job_path, "w") as f:
            json.dump(job, f)
        self.log = open(os.path.join(self.folder.name, "stderr.txt"), "w+")  # a file: a full pipe would block it
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "benchmarks", "jax_peer.py"), job_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env={**os.environ, "KERAS_BACKEND": "jax"},
        )
        self.info = json.loads(self._reply())  # waits until the worker has built and compiled
        if self.info.get("backend") != "jax":
            self.close()
            raise RuntimeError(f"the worker's Keras backend is {self.info.get('backend')}, not jax")

    def _reply(self):
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=60)
            self.log.seek(0)
            error = self.log.read().strip().splitlines()
            raise RuntimeError(f"JAX worker stopped: {error[-1] if error else 'no message'}")
        return line

    def epoch(self, name):
        self.process.stdin.write(name + "\n")
        self.process.stdin.flush()
        return float(self._reply())

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            self.process.wait(timeout=60)
        self.log.close()
        self.folder.cleanup()


def jax_note():
    """None when the JAX peer can run, else why not (one line for the JSON)."""
    if importlib.util.find_spec("jax") is None:
        return 'JAX columns skipped: jax is not installed (pip install -e ".[bench]")'
    return None


class OtherMethods(Callback):
    """After each runtime epoch, one round of every other method; records seconds per step."""

    def __init__(self, kind, x, y, args):
        k = args.steps_per_call
        self.x, self.y, self.args, self.batch = x, y, args, MODELS[kind]["batch"]
        self.fits = {"fit": compiled(kind, args, 1), f"fit_spe{k}": compiled(kind, args, k)}
        self.timers = {name: EpochTimes() for name in self.fits}
        self.tutorial = tutorial_loop(kind, x, y)
        self.per_step = {name: [] for name in list(self.fits) + ["tutorial_loop"]}
        self.jax, self.jax_note = None, jax_note() if args.jax else "JAX columns skipped: --no-jax"
        if self.jax_note is None and (args.xla or args.precision):
            self.jax_note = "JAX columns skipped: --xla/--precision runs compare TensorFlow methods only"
        if self.jax_note is None:
            try:
                self.jax = JaxPeer(kind, x, y, {"fit": 1, f"fit_spe{k}": k})
            except (OSError, RuntimeError, ValueError) as exc:
                self.jax_note = f"JAX columns skipped: {exc}"
            else:
                self.per_step.update({"jax_fit": [], f"jax_fit_spe{k}": []})

    def on_epoch_end(self, epoch, logs=None):
        for name, model in self.fits.items():
            model.fit(self.x, self.y, batch_size=self.batch, epochs=1, verbose=0, callbacks=[self.timers[name]])
            self.per_step[name].append(self.timers[name].times[-1] / self.args.steps)
        start = time.perf_counter()
        self.tutorial(self.args.tutorial_steps)
        self.per_step["tutorial_loop"].append((time.perf_counter() - start) / self.args.tutorial_steps)
        if self.jax is not None:
            for name in ("fit", f"fit_spe{self.args.steps_per_call}"):
                self.per_step[f"jax_{name}"].append(self.jax.epoch(name) / self.args.steps)


def runtime_settings(kind, args):
    """The runtime's training settings for the model: its spec's optimizer, loss and batch size."""
    return {
        "optimizer": MODELS[kind]["optimizer"],
        "loss": MODELS[kind]["loss"],
        "metrics": [{"class_name": "accuracy", "config": {}}],
        "epochs": args.rounds,
        "batch_size": MODELS[kind]["batch"],
        "steps_per_call": args.steps_per_call,
        "jit_compile": args.xla,
        "precision": args.precision,
        "seed": 0,
    }


def bench(kind, args):
    batch = MODELS[kind]["batch"]
    x, y = data(kind, args.steps * batch)
    timer, others = EpochTimes(), OtherMethods(kind, x, y, args)
    try:
        train_model(
            None,
            runtime_settings(kind, args),
            (x, y),
            model_fn=lambda: build(kind),
            quiet=True,
            callbacks=[timer, others],
        )
    finally:
        if others.jax is not None:
            others.jax.close()
    per_step = {"runtime": [t / args.steps for t in timer.times], **others.per_step}
    per_step = {name: times[1:] for name, times in per_step.items()}  # round 0 traces
    mine = per_step["runtime"]
    result = {
        "steps_per_s": {name: round(1 / statistics.median(t), 1) for name, t in per_step.items()},
        "runtime_speedup": {
            f"vs_{name}": round(statistics.median(o / m for o, m in zip(t, mine)), 2)
            for name, t in per_step.items()
            if name != "runtime"
        },
        "batch_size": batch,
        "steps_per_epoch": args.steps,
        "rounds": args.rounds - 1,
    }
    if others.jax is not None:
        result["jax"] = others.jax.info["jax"]
    else:
        result["note"] = others.jax_note
    return result


def status_mib(field):
    """VmRSS / VmHWM of this process from /proc/self/status, in MiB (Linux), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def peak_rss(kind, args, method):
    """Resident memory (MiB) of this process running `args.rounds` epochs of `method` alone (the
    runtime, or `fit` with its defaults) on the benchmark's model and data: the peak, and the peak
    above the resident size once TensorFlow was loaded and the arrays made (Linux: the high-water
    mark is reset there through /proc/self/clear_refs)."""
    batch = MODELS[kind]["batch"]
    x, y = data(kind, args.steps * batch)
    tf.constant(0.0).numpy()  # TensorFlow started (its pools made) before the baseline
    start_peak, baseline = status_mib("VmHWM"), status_mib("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current resident size
    except OSError:
        baseline = None
    if method == "runtime":
        train_model(None, runtime_settings(kind, args), (x, y), model_fn=lambda: build(kind), quiet=True)
    else:
        compiled(kind, args, 1).fit(x, y, batch_size=batch, epochs=args.rounds, verbose=0)
    # (not getrusage's ru_maxrss: it keeps the peak of the parent the process was forked from)
    high = status_mib("VmHWM")
    peak = None if high is None else max(high, start_peak or 0)
    growth = None if high is None or baseline is None else high - baseline
    return {k: None if v is None else round(v, 1) for k, v in (("peak", peak), ("training", growth))}


def median(values):
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 1) if known else None


def child(kind, args, extra=()):
    """Run this file for one model in a fresh process (its own thread pools: tfspec.threads) and
    return its JSON."""
    argv = [sys.executable, os.path.abspath(__file__), "--model", kind, "--steps-per-call", str(args.steps_per_call)]
    for flag in ("steps", "rounds", "tutorial_steps", "precision"):
        if getattr(args, flag) is not None:
            argv += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    argv += ["--xla"] * args.xla + ["--no-jax"] * (not args.jax) + ["--default-threads"] * args.default_threads
    argv += ["--no-memory"] * (not args.memory) + ["--memory-runs", str(args.memory_runs)]
    done = subprocess.run([*argv, *extra], stdout=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"bench_train: the {kind} run failed (exit {done.returncode})")
    return json.loads(done.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=(*MODELS, "both", "all"), default="both", help="both: mlp and cnn")
    parser.add_argument(
        "--steps", type=int, default=None, help=f"runtime/fit steps per round (default {DEFAULT_STEPS})"
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help=f"rounds, the first dropped (default {DEFAULT_ROUNDS})"
    )
    parser.add_argument("--steps-per-call", type=int, default=25)
    parser.add_argument(
        "--tutorial-steps",
        type=int,
        default=None,
        help=f"tutorial-loop steps per round (default {DEFAULT_TUTORIAL_STEPS})",
    )
    parser.add_argument("--xla", action="store_true", help="jit_compile for the runtime and fit")
    parser.add_argument("--precision", choices=("mixed_float16", "mixed_bfloat16"), default=None)
    parser.add_argument("--no-jax", dest="jax", action="store_false", help="skip the Keras-on-JAX peer")
    parser.add_argument(
        "--default-threads",
        action="store_true",
        help="TensorFlow's default thread pools, not tfspec.threads' choice (to measure that lever)",
    )
    parser.add_argument("--no-memory", dest="memory", action="store_false", help="skip the peak-memory runs")
    parser.add_argument("--memory-runs", type=int, default=3, help="peak-memory runs of each method (medians)")
    parser.add_argument("--peak-rss", choices=("runtime", "fit"), help=argparse.SUPPRESS)  # a child's job
    args = parser.parse_args(argv)
    kinds = {"both": ("mlp", "cnn"), "all": tuple(MODELS)}.get(args.model, (args.model,))
    if len(kinds) > 1:  # one process per model: each gets the thread pools tfspec would choose for it
        report = {}
        for kind in kinds:
            one = child(kind, args)
            report.update({k: v for k, v in one.items() if k not in MODELS})
            report[kind] = one[kind]
        print(json.dumps(report, indent=2))
        return
    kind = kinds[0]
    import tfspec
    from tfspec import threads

    choice = None if args.default_threads else threads.choose(tfspec.load(spec_path(kind)), MODELS[kind]["batch"])
    threads.apply(choice)  # before TensorFlow's first op: for every method of this process alike
    if args.precision:
        keras.mixed_precision.set_global_policy(args.precision)
    run_args = argparse.Namespace(**vars(args))
    run_args.steps = args.steps or DEFAULT_STEPS[kind]
    run_args.rounds = args.rounds or DEFAULT_ROUNDS[kind]
    run_args.tutorial_steps = args.tutorial_steps or DEFAULT_TUTORIAL_STEPS[kind]
    if args.peak_rss:
        print(json.dumps(peak_rss(kind, run_args, args.peak_rss)))
        return
    report = {
        "device": tf.config.list_logical_devices()[-1].device_type,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "steps_per_call": args.steps_per_call,
        "xla": args.xla,
        "precision": args.precision,
    }
    start = time.perf_counter()
    report[kind] = bench(kind, run_args)
    report[kind]["seconds"] = round(time.perf_counter() - start, 1)
    report[kind]["threads"] = (
        f"inter_op {choice.inter_op}, intra_op {choice.intra_op}" if choice else "TensorFlow's defaults"
    )
    if args.memory:  # each method alone in a fresh process: a process's peak only grows
        runs = {m: [] for m in ("runtime", "fit")}
        for _ in range(args.memory_runs):  # alternating; medians, as one process's figure moves by a few MiB
            for method, found in runs.items():
                found.append(child(kind, args, ["--peak-rss", method]))
        for key, name in (("peak", "peak_rss_mib"), ("training", "training_rss_mib")):
            report[kind][name] = {m: median([r[key] for r in found]) for m, found in runs.items()}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
