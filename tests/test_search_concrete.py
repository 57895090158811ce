"""concrete_text: a spec with a search section written at one point, as a spec without one
(what `tfspec tune` writes as best.tfs). No TensorFlow needed."""

import pytest

import tfspec
from tfspec.loader import check_spec, parse
from tfspec.search.concrete import concrete_text, literal
from tfspec.search.point import at_point

SPEC = """\
# a header comment
search {
    units = choice(16, 32)   # the width
    depth = int(1, 3)
    rate  = float(0.0, 0.5, step=0.1)
    lr    = float(1e-4, 1e-2, log=true)
    act   = choice("relu", "tanh")
    bias  = boolean(default=true)
    axis  = choice(-1, 1)
}

# a block sees hyperparameters only through its arguments
block Mlp(width, act) {
    input x
    x -> Dense(width, activation=act) -> y   # width and act are the block's own
    output y
}

model Net {
    input image: float32[8, 8]
    image -> Flatten() -> Dense(units, activation=act) * depth   # repeated
          -> Mlp(units * 2, act) -> Dropout(rate) -> Dense(8, use_bias=bias)
          -> Dense(10) -> Softmax(axis=axis) -> probs
    output probs
}

train {
    optimizer = Adam(learning_rate=lr)   # tuned
    loss      = SparseCategoricalCrossentropy()
    metrics   = [accuracy]
    epochs    = 1
    data      = digits
}
"""

POINT = {"units": 32, "depth": 3, "rate": 0.3, "lr": 0.00123, "act": "tanh", "bias": False, "axis": -1}


def same_model(text, point, path="net.tfs"):
    """The concrete text loads, as the same model and training settings as at_point gives."""
    searched = tfspec.loads(SPEC, filename=path)
    direct = check_spec(at_point(searched.searched, point), searched.searched_spans, SPEC, path)
    assert not isinstance(direct, list), direct
    written = tfspec.loads(text, filename=path)
    assert written.space is None
    assert tfspec.summary(written).total_params == tfspec.summary(direct).total_params
    assert [layer.params for layer in tfspec.summary(written).rows] == [
        layer.params for layer in tfspec.summary(direct).rows
    ]
    assert written.training == direct.training
    return written


def test_the_point_replaces_each_name_and_the_search_section_becomes_comments():
    text = concrete_text(SPEC, "net.tfs", POINT, note="val_accuracy = 0.97 (trial 3)")
    same_model(text, POINT)
    spec, _ = parse(text, "net.tfs")
    assert "search" not in spec
    assert "# a header comment" in text and "# repeated" in text and "# tuned\n" in text
    assert "# a block sees hyperparameters only through its arguments" in text
    assert '-> Dense(32, activation="tanh") * 3   # repeated' in text
    assert '-> Mlp(32 * 2, "tanh") -> Dropout(0.3) -> Dense(8, use_bias=false)' in text
    assert "Softmax(axis=(-1))" in text
    assert "optimizer = Adam(learning_rate=0.00123)   # tuned" in text
    lines = text.splitlines()
    assert lines[1] == (
        '# tuned by tfspec tune: units = 32, depth = 3, rate = 0.3, lr = 0.00123, act = "tanh", bias = false, axis = -1'
    )
    assert lines[2] == "# val_accuracy = 0.97 (trial 3)"
    assert "#     units = choice(16, 32)   # the width" in lines  # the section as written, commented out
    assert not any(line.startswith("search") for line in lines)


def test_a_block_body_is_untouched():
    text = concrete_text(SPEC, "net.tfs", POINT)
    assert "    x -> Dense(width, activation=act) -> y   # width and act are the block's own" in text


def test_the_default_point_gives_the_spec_load_returns():
    default = tfspec.loads(SPEC, filename="net.tfs")
    text = concrete_text(SPEC, "net.tfs", default.point)
    written = same_model(text, default.point)
    assert tfspec.summary(written).total_params == tfspec.summary(default).total_params


@pytest.mark.parametrize(
    "value, words",
    [
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (-2, "-2"),
        (0.1, "0.1"),
        (1e-05, "1e-05"),
        (0.30000000000000004, "0.30000000000000004"),
        (1e16, "1e+16"),
        ('say "hi"\\', '"say \\"hi\\"\\\\"'),
        ("tab\there", '"tab\\there"'),
    ],
)
def test_literals_read_back_as_the_value(value, words):
    assert literal(value) == words
    spec, _ = parse(f"train {{\n    x = {words}\n}}\n", "t.tfs")
    assert spec["train"]["x"] == value and type(spec["train"]["x"]) is type(value)


def test_literals_refuse_what_a_spec_cannot_hold():
    with pytest.raises(ValueError):
        literal(float("nan"))
    with pytest.raises(TypeError):
        literal([1, 2])


def test_numpy_scalars_are_written_as_plain_values():
    np = pytest.importorskip("numpy")
    assert literal(np.int64(4)) == "4"
    assert literal(np.float32(0.5)) == "0.5"
    assert literal(np.bool_(True)) == "true"


def test_strings_are_escaped():
    spec = SPEC.replace(
        'act   = choice("relu", "tanh")', 'act   = choice("relu", "tanh")\n    tag = choice("a\\"b", "c")'
    )
    spec = spec.replace("-> Dense(10)", "-> Dense(10, name=tag)")
    text = concrete_text(spec, "net.tfs", {**POINT, "tag": 'a"b'})
    assert '-> Dense(10, name="a\\"b")' in text
    assert parse(text, "net.tfs")[0]["model"]["body"]["chains"][0]["steps"][5]["call"]["kwargs"]["name"] == 'a"b'


def test_the_slow_parser_gives_the_same_text(monkeypatch):
    from tfspec.frontend import fast

    quick = concrete_text(SPEC, "net.tfs", POINT)
    monkeypatch.setattr(fast, "enabled", lambda: False)
    assert concrete_text(SPEC, "net.tfs", POINT) == quick


def test_crlf_and_a_byte_order_mark_are_read_as_the_loader_reads_them():
    text = concrete_text("\ufeff" + SPEC.replace("\n", "\r\n"), "net.tfs", POINT)
    assert text == concrete_text(SPEC, "net.tfs", POINT)


def test_a_section_sharing_its_lines_with_other_items():
    spec = (
        "model M { input x: float32[4]\n x -> Dense(n) -> y output y } search { n = choice(2, 3) } "
        "train { loss = mse }\n"
    )
    text = concrete_text(spec, "m.tfs", {"n": 3})
    assert "Dense(3)" in text
    assert "# tuned by tfspec tune: n = 3" in text
    spec_dict, _ = parse(text, "m.tfs")
    assert "search" not in spec_dict and spec_dict["train"] == {"loss": {"ref": "mse"}}


def test_a_missing_value_or_a_spec_without_search_is_refused():
    with pytest.raises(ValueError, match="no value for lr"):
        concrete_text(SPEC, "net.tfs", {k: v for k, v in POINT.items() if k != "lr"})
    plain = "model M { input x: float32[4]\n x -> Dense(2) -> y\n output y }\n"
    with pytest.raises(ValueError, match="no search section"):
        concrete_text(plain, "m.tfs", {})


def test_data_paths_follow_the_text_to_its_folder(tmp_path):
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "x.npz").write_bytes(b"")
    text = (
        "search {\n    units = choice(4, 8)\n}\n\n"
        "model M {\n    input x: float32[3]\n    x -> Dense(units) -> y\n    output y\n}\n\n"
        'train {\n    loss = mse\n    data = npz("data/x.npz")\n    validation = npz(path="data/x.npz")\n}\n'
    )
    spec_path = str(folder / "m.tfs")
    out = tmp_path / "tune" / "M"
    moved = concrete_text(text, spec_path, {"units": 8}, moved_to=str(out))
    assert 'npz("../../project/data/x.npz")' in moved
    assert 'npz(path="../../project/data/x.npz")' in moved
    assert concrete_text(text, spec_path, {"units": 8}).count('"data/x.npz"') == 2  # not moved: kept
    absolute = text.replace("data/x.npz", str(folder / "data" / "x.npz"))
    assert str(folder / "data" / "x.npz") in concrete_text(absolute, spec_path, {"units": 8}, moved_to=str(out))
    spec = tfspec.loads(moved, filename=str(out / "best.tfs"))
    assert spec.training["data"]["path"] == "../../project/data/x.npz"
