"""Where a training step's time goes: TensorFlow's profiler over one epoch of the runtime (or of `fit`).

    python benchmarks/profile_step.py --model mlp            # the runtime, bench_train.py's MLP and data
    python benchmarks/profile_step.py --model lstm --fit 1   # Keras fit(steps_per_execution=1) instead

Trains bench_train.py's model on its data for three epochs with the thread pools tfspec chooses,
profiling the third (tf.profiler), then reads the trace (XSpace, TensorFlow's own proto) and prints
one JSON object, per training step: wall microseconds; host calls into TensorFlow (round trips);
kernels run and their microseconds (summed over threads); the executor's busy microseconds (its
`Process` spans, which hold the kernels and the scheduling between them); and the kernels that took
longest. The profiler itself costs a few percent.
"""

import argparse
import collections
import glob
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_train  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfspec  # noqa: E402
from tfspec import threads  # noqa: E402
from tfspec.runtime import Callback, train_model  # noqa: E402

# Spans of the executor and of tf.data that hold other events rather than being kernels of the step.
NOT_KERNELS = {"Process", "ExecutorDoneCallback", "ExecutorState::Process", "Start", "Done", "Run"}


class Profiled(Callback, keras.callbacks.Callback):
    """Profiles epoch `epoch` (0-based) into `folder`; works as a tfspec and as a Keras callback."""

    def __init__(self, folder, epoch=2):
        keras.callbacks.Callback.__init__(self)
        self.folder, self.epoch, self.seconds = folder, epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            tf.profiler.experimental.start(self.folder)
            self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.seconds = time.perf_counter() - self.start
            tf.profiler.experimental.stop()


def read_trace(folder, steps):
    from tensorflow.tsl.profiler.protobuf import xplane_pb2  # TensorFlow's copy of the profiler's proto

    path = glob.glob(os.path.join(folder, "**", "*.xplane.pb"), recursive=True)[0]
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    host = next(p for p in space.planes if p.name == "/host:CPU")
    names = {k: v.name for k, v in host.event_metadata.items()}
    kernels, counts = collections.Counter(), collections.Counter()
    busy = calls = 0.0
    for line in host.lines:
        for event in line.events:
            name = names.get(event.metadata_id, "?").split(":")[-1]
            micros = event.duration_ps / 1e6
            if line.name == "python":
                calls += name == "EagerExecute"
            elif line.name.startswith("tf_Compute"):
                if name == "Process":
                    busy += micros
                elif name not in NOT_KERNELS:
                    kernels[name] += micros
                    counts[name] += 1
    return {
        "host_calls_per_step": round(calls / steps, 3),
        "kernels_per_step": round(sum(counts.values()) / steps, 1),
        "kernel_us_per_step": round(sum(kernels.values()) / steps, 1),
        "executor_busy_us_per_step": round(busy / steps, 1),
        "top_kernels_us_per_step": {k: round(v / steps, 1) for k, v in kernels.most_common(12)},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=tuple(bench_train.MODELS), default="mlp")
    parser.add_argument("--fit", type=int, default=None, metavar="K", help="profile fit(steps_per_execution=K)")
    parser.add_argument("--steps", type=int, default=None, help="steps per epoch (default: bench_train's)")
    args = parser.parse_args(argv)
    kind = args.model
    spec = tfspec.load(bench_train.spec_path(kind))
    choice = threads.choose(spec, bench_train.MODELS[kind]["batch"])
    threads.apply(choice)
    steps = args.steps or bench_train.DEFAULT_STEPS[kind]
    batch = bench_train.MODELS[kind]["batch"]
    x, y = bench_train.data(kind, steps * batch)
    with tempfile.TemporaryDirectory(prefix="tfspec-profile-") as folder:
        profiled = Profiled(folder)
        if args.fit:
            model = bench_train.compiled(kind, argparse.Namespace(xla=False), args.fit)
            model.fit(x, y, batch_size=batch, epochs=3, verbose=0, callbacks=[profiled])
        else:
            training = {
                "optimizer": bench_train.MODELS[kind]["optimizer"],
                "loss": bench_train.MODELS[kind]["loss"],
                "metrics": [{"class_name": "accuracy", "config": {}}],
                "epochs": 3,
                "batch_size": batch,
                "steps_per_call": 25,
                "seed": 0,
            }
            train_model(
                None, training, (x, y), model_fn=lambda: bench_train.build(kind), quiet=True, callbacks=[profiled]
            )
        report = {
            "model": kind,
            "method": f"fit(steps_per_execution={args.fit})" if args.fit else "runtime",
            "threads": f"inter_op {choice.inter_op}, intra_op {choice.intra_op}" if choice else "TensorFlow's defaults",
            "wall_us_per_step": round(profiled.seconds / steps * 1e6, 1),
            **read_trace(folder, steps),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
