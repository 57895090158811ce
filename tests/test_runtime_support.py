"""Helpers shared by the runtime tests (no tests here), and the child processes they start.

python -m tests.test_runtime_support <role> <json args>     # run from the repository root
"""

import json
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def training(**changes):
    """A TRAINING dict like the front end's, for the digits MLP."""
    t = {
        "optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.003}},
        "loss": {"class_name": "SparseCategoricalCrossentropy", "config": {}},
        "loss_weights": None,
        "metrics": [{"class_name": "accuracy", "config": {}}],
        "epochs": 2,
        "batch_size": 32,
        "validation_split": None,
        "validation_data": None,
        "callbacks": [],
        "data": {"source": "digits"},
        "seed": 0,
        "distribute": None,
        "precision": None,
        "steps_per_call": 25,
        "jit_compile": False,
        "deterministic": False,
    }
    t.update(changes)
    return t


def mlp(input_shape=(8, 8), dropout=0.1, seed=0, units=64):
    import keras

    keras.utils.set_random_seed(seed)
    layers = [keras.Input(input_shape), keras.layers.Flatten(), keras.layers.Dense(units, activation="relu")]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    return keras.Sequential(layers)


def digits(n=None):
    import numpy as np

    with np.load(os.path.join(ROOT, "tfspec", "data", "digits.npz")) as f:
        x, y = f["x"].astype("float32") / 16, f["y"].astype("int32")
    return (x[:n], y[:n]) if n else (x, y)


def env(**extra):
    e = dict(
        os.environ,
        PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",
    )
    e.pop("TF_CONFIG", None)
    e.update(extra)
    return e


def child(role, args, **extra_env):
    """Start `python -m tests.test_runtime_support role args` (a Popen)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.test_runtime_support", role, json.dumps(args)],
        cwd=ROOT,
        env=env(**extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc, timeout):
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as e:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"child timed out after {timeout}s:\n{out[-3000:]}") from e
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{out[-3000:]}"
    return out


def kill_when(proc, condition, timeout):
    """SIGKILL `proc` as soon as condition() holds; False if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if condition():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("the condition to kill the child never held")


# ------------------------------------------------------------------ child roles


def role_resume(args):
    """Train the digits MLP deterministically, checkpointing every few steps; save final weights."""
    import numpy as np

    from tfspec.runtime import train_model

    x, y = digits()
    x, y = np.concatenate([x] * args["repeat"]), np.concatenate([y] * args["repeat"])
    opts = training(epochs=args["epochs"], steps_per_call=args["steps_per_call"], deterministic=True, seed=3)
    result = train_model(
        None,
        opts,
        (x, y),
        model_fn=lambda: mlp(units=32, seed=3),
        out_dir=args["out_dir"],
        resume=args["resume"],
        spec_hash="h1",
        checkpoint_every_steps=args["every"],
    )
    np.savez(os.path.join(args["out_dir"], "final.npz"), *result.model.get_weights())
    print(json.dumps(result.history))


def role_mirrored(args):
    """Weights after training on 2 logical CPUs with MirroredStrategy vs on one device."""
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfspec.runtime import train_model

    x, y = digits(args["n"])
    weights, histories = {}, {}
    for mode in ("mirrored", None):
        opts = training(
            epochs=args["epochs"],
            distribute=mode,
            seed=1,
            validation_split=0.2,
            optimizer={"class_name": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.9}},
        )
        result = train_model(None, opts, (x, y), model_fn=lambda: mlp(dropout=0, seed=1), quiet=True)
        weights[mode] = result.model.get_weights()
        histories[str(mode)] = result.history
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(weights["mirrored"], weights[None]))
    print("RESULT " + json.dumps({"max_diff": diff, "history": histories}))


def role_multi_worker(args):
    """One worker of a 2-worker MultiWorkerMirroredStrategy run (TF_CONFIG set by the parent)."""
    import numpy as np

    from tfspec.runtime import train_model
    from tfspec.runtime.distribute import get_strategy

    x, y = digits(args["n"])
    opts = training(epochs=args["epochs"], distribute="multi_worker", seed=2)
    result = train_model(
        None, opts, (x, y), model_fn=lambda: mlp(dropout=0, seed=2), quiet=True, out_dir=args["out_dir"]
    )
    np.savez(args["weights"], *result.model.get_weights())
    replicas = get_strategy("multi_worker").num_replicas_in_sync
    print("RESULT " + json.dumps({"history": result.history, "replicas": replicas}))


if __name__ == "__main__":
    {"resume": role_resume, "mirrored": role_mirrored, "multi_worker": role_multi_worker}[sys.argv[1]](
        json.loads(sys.argv[2])
    )
