"""Build speed, side by side in one run; prints JSON.

1. Whole-process `tfspec build SPEC --style S` (TensorFlow-free), median of several runs.
2. A live model from `tfspec.build(spec, style)` against the same model written by hand in
   Keras, interleaved, median of several builds each: the ratio should be <= 1.2.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def cli_seconds(spec: str, style: str, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "tfspec", "build", spec, "--style", style],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def by_hand_mlp():
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(10, activation="softmax"),
        ]
    )


def by_hand_cnn_functional():
    import keras
    from keras import layers

    image = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu")(image)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    out = layers.Dense(10, activation="softmax")(x)
    return keras.Model(image, out)


def by_hand_cnn_subclassing():
    import keras
    from keras import layers

    class CNN(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv1 = layers.Conv2D(32, 3, activation="relu")
            self.conv2 = layers.Conv2D(64, 3, activation="relu")
            self.flatten = layers.Flatten()
            self.fc1 = layers.Dense(128, activation="relu")
            self.fc2 = layers.Dense(10, activation="softmax")

        def call(self, x, training=None):
            return self.fc2(self.fc1(self.flatten(self.conv2(self.conv1(x)))))

    model = CNN()
    model(keras.Input(shape=(28, 28, 1)))
    return model


def live_ratio(spec_name: str, style: str, by_hand, rounds: int = 9) -> dict:
    import keras

    import tfspec

    spec = tfspec.load(os.path.join(ROOT, "specs", f"{spec_name}.tfs"))
    ours, theirs = [], []
    tfspec.build(spec, style), by_hand()  # warm up imports and kernels
    for _ in range(rounds):
        keras.backend.clear_session()
        start = time.perf_counter()
        tfspec.build(spec, style)
        ours.append(time.perf_counter() - start)
        keras.backend.clear_session()
        start = time.perf_counter()
        by_hand()
        theirs.append(time.perf_counter() - start)
    a, b = statistics.median(ours), statistics.median(theirs)
    return {
        "spec": spec_name,
        "style": style,
        "tfspec_s": round(a, 4),
        "by_hand_s": round(b, 4),
        "ratio": round(a / b, 3),
    }


def main() -> None:
    specs = ["mnist_mlp", "mnist_cnn", "residual_cnn", "shared_embedding"]
    cli = {
        f"{s}/{st}": round(cli_seconds(os.path.join("specs", f"{s}.tfs"), st), 3)
        for s in specs
        for st in ("functional", "subclassing")
    }
    live = [
        live_ratio("mnist_mlp", "sequential", by_hand_mlp),
        live_ratio("mnist_cnn", "functional", by_hand_cnn_functional),
        live_ratio("mnist_cnn", "subclassing", by_hand_cnn_subclassing),
    ]
    print(json.dumps({"cli_build_seconds": cli, "live_build": live}, indent=2))


if __name__ == "__main__":
    main()
