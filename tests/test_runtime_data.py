"""Runtime data: sources, offline keras.datasets, splits and preprocessing to the model's shapes."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from tfspec.runtime import DataError  # noqa: E402
from tfspec.runtime.data import load_source, split_data  # noqa: E402

from .test_runtime_support import training  # noqa: E402


def test_digits_source_scaled_and_split():
    splits = split_data(None, training(data={"source": "digits"}))
    (x, _), (xt, _) = splits.train, splits.test
    assert x.dtype == np.float32 and x.max() == 1.0 and x.shape[1:] == (8, 8)
    assert len(x) + len(xt) == 1797 and len(xt) == round(1797 * 0.2)
    assert splits.validation is None


def test_splits_are_seeded_and_disjoint():
    x = np.arange(100, dtype=np.float32).reshape(100, 1)
    opts = training(validation_split=0.25, seed=5, data=None)
    a = split_data({"train": (x, x[:, 0])}, opts)
    b = split_data({"train": (x, x[:, 0])}, opts)
    assert np.array_equal(a.train[0], b.train[0]) and len(a.validation[0]) == 25
    assert not set(a.train[0][:, 0]) & set(a.validation[0][:, 0])
    c = split_data({"train": (x, x[:, 0])}, dict(opts, seed=6))
    assert not np.array_equal(a.validation[0], c.validation[0])


def test_limit_and_explicit_scale():
    splits = split_data({"source": "digits", "limit": 100, "scale": 0.5, "test_split": 0.1}, training())
    assert len(splits.train[0]) == 90 and len(splits.test[0]) == 10
    assert splits.train[0].max() == 8.0


def test_npz_source_with_keys_and_native_split(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "a.npz", feats=rng.random((20, 3)), labels=np.arange(20) % 2)
    (x, y), test = load_source({"source": "npz", "path": "a.npz", "x": "feats", "y": "labels"}, tmp_path)
    assert x.shape == (20, 3) and test is None
    np.savez(
        tmp_path / "b.npz", x_train=np.zeros((8, 2)), y_train=np.zeros(8), x_test=np.ones((4, 2)), y_test=np.ones(4)
    )
    splits = split_data({"source": "npz", "path": str(tmp_path / "b.npz")}, training())
    assert len(splits.train[0]) == 8 and len(splits.test[0]) == 4  # the file's own test split
    with pytest.raises(DataError, match="no array named 'nope'"):
        load_source({"source": "npz", "path": "a.npz", "x": "nope"}, tmp_path)


def test_csv_source(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,target\n1,2,0\n3,4,1\n5,6,1\n")
    (x, y), _ = load_source({"source": "csv", "path": "t.csv", "label": "target"}, tmp_path)
    assert x.tolist() == [[1, 2], [3, 4], [5, 6]] and y.tolist() == [0, 1, 1] and y.dtype.kind == "i"
    (tmp_path / "bad.csv").write_text("a,target\nx,1\n")
    with pytest.raises(DataError, match="numeric"):
        load_source({"source": "csv", "path": "bad.csv", "label": "target"}, tmp_path)
    with pytest.raises(DataError, match="the header row has 3 columns and none is named 'label'"):
        load_source({"source": "csv", "path": "t.csv", "label": "label"}, tmp_path)
    with pytest.raises(DataError, match="not found"):
        load_source({"source": "csv", "path": "missing.csv"}, tmp_path)


def test_keras_dataset_offline_error_is_immediate(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    for name in ("mnist", "fashion_mnist", "cifar10", "cifar100"):
        with pytest.raises(DataError, match="not in the local Keras cache.*never downloads"):
            load_source({"source": name})


def test_keras_dataset_from_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    np.savez(
        tmp_path / "datasets" / "mnist.npz",
        x_train=np.full((6, 28, 28), 255, np.uint8),
        y_train=np.arange(6, dtype=np.uint8),
        x_test=np.zeros((2, 28, 28), np.uint8),
        y_test=np.zeros(2, np.uint8),
    )
    splits = split_data({"source": "mnist"}, training())
    assert splits.train[0].shape == (6, 28, 28) and splits.train[0].max() == 1.0  # 1/255 by default
    assert len(splits.test[0]) == 2


def test_validation_data_source_and_mapping():
    x = np.zeros((10, 8, 8), np.float32)
    splits = split_data(
        {"train": (x, np.zeros(10)), "test": (x[:3], np.zeros(3))},
        training(validation_data={"source": "digits", "limit": 50}),
    )
    assert len(splits.validation[0]) == 50 and len(splits.test[0]) == 3
    with pytest.raises(DataError, match="unknown data source"):
        split_data({"source": "imagenet"}, training())
    with pytest.raises(DataError, match="pair"):
        split_data((x,), training())


def test_prepare_reshapes_casts_and_one_hots():
    from tfspec.runtime.signature import describe, prepare, prepare_x, probe

    inputs = keras.Input((8, 8, 1), name="image")
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs)))
    sig = describe(model, {})
    x = prepare_x(np.zeros((4, 8, 8), np.uint8), sig)
    assert x.shape == (4, 8, 8, 1) and x.dtype == np.float32
    probe(model, sig, x)
    assert sig.output_names and sig.output_shapes == [(1, 10)]
    loss = {sig.output_names[0]: {"class_name": "CategoricalCrossentropy", "config": {}}}
    _, (y,) = prepare((np.zeros((4, 64)), np.array([0, 1, 2, 9])), sig, loss)
    assert y.shape == (4, 10) and y[3, 9] == 1.0
    with pytest.raises(DataError, match="do not fit"):
        prepare_x(np.zeros((4, 7, 7)), sig)
    with pytest.raises(DataError, match=r"labels up to 12 \(13 classes\) but output '\w+' has 10 units"):
        prepare((np.zeros((2, 64)), np.array([0, 12])), sig, loss)
    sig2 = describe(model, {"inputs": [{"name": "image", "shape": [64], "dtype": "float32"}]})
    assert prepare_x(np.zeros((3, 8, 8)), sig2).shape == (3, 64)  # the spec's inputs win


def test_cifar100_from_cache_with_label_mode(tmp_path, monkeypatch):
    import pickle

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    folder = tmp_path / "datasets" / "cifar-100-python-target" / "cifar-100-python"
    folder.mkdir(parents=True)
    for name, n in (("train", 5), ("test", 3)):
        batch = {
            b"data": np.arange(n * 3072, dtype=np.uint32).astype(np.uint8).reshape(n, 3072),
            b"fine_labels": list(range(n)),
            b"coarse_labels": [7] * n,
        }
        (folder / name).write_bytes(pickle.dumps(batch))
    (x, y), (xt, yt) = load_source({"source": "cifar100", "label_mode": "coarse"})
    assert x.shape == (5, 32, 32, 3) and x[0, 0, 1, 0] == 1 and x[0, 0, 0, 1] == 1024 % 256  # channels last
    assert y.tolist() == [7] * 5 and len(yt) == 3
    assert load_source({"source": "cifar100"})[0][1].tolist() == [0, 1, 2, 3, 4]
