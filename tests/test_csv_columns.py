"""A CSV file feeding a model by column name: several named inputs, columns of text for inputs
declared as strings, class names as labels (numbered in sorted order and kept in the run folder),
missing values and bad rows named by line and column, and the same rule in `tfspec check` (E608)."""

import csv
import io
import math
import os

import numpy as np
import pytest

import tfspec
from tfspec.check.data_columns import ColumnProblem, header_row, input_columns

pytest.importorskip("tensorflow")

from tfspec.runtime import DataError  # noqa: E402
from tfspec.runtime.data import load_source, split_data  # noqa: E402

from .helpers import quiet_tensorflow  # noqa: E402
from .test_runtime_support import training  # noqa: E402

INPUTS = [("island", (1,), "string"), ("mass", (1,), "float32"), ("sex", (1,), "string")]
SPARSE = {"class_name": "SparseCategoricalCrossentropy", "config": {}}


def write(path, rows):
    """A CSV file written by the csv module (quotes where the values need them)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return str(path)


def birds(n=12):
    """A small table whose columns are not in the model's input order, with a decoy column."""
    species = ["Gentoo", "Adelie", "Chinstrap"]
    islands = ["Biscoe", "Dream", "Torgersen"]
    rows = [["mass", "species", "year", "island", "sex"]]
    for i in range(n):
        rows.append([str(3000 + 100 * i), species[i % 3], "2008", islands[(i // 2) % 3], ["male", "female"][i % 2]])
    return rows


def message(call):
    with pytest.raises(DataError) as info:
        call()
    text = str(info.value)
    assert "\n" not in text and "Traceback" not in text, text
    return text


# ---------------------------------------------------------------- reading by column


def test_several_inputs_read_their_columns_by_name(tmp_path):
    rows = birds()
    write(tmp_path / "b.csv", rows)
    found = {}
    (x, y), test = load_source({"source": "csv", "path": "b.csv", "label": "species"}, tmp_path, INPUTS, found=found)
    assert test is None
    island, mass, sex = x  # the model's input order, not the file's
    assert island.dtype == object and island.tolist() == [r[3] for r in rows[1:]]
    assert sex.tolist() == [r[4] for r in rows[1:]]
    assert mass.dtype.kind == "f" and mass.tolist() == [float(r[0]) for r in rows[1:]]
    # class names numbered in sorted order: Adelie 0, Chinstrap 1, Gentoo 2
    assert found == {"species": ["Adelie", "Chinstrap", "Gentoo"]}
    assert y.dtype == np.int64 and y.tolist() == [[2, 0, 1][i % 3] for i in range(12)]


def test_recorded_classes_number_the_labels_and_refuse_a_new_one(tmp_path):
    write(tmp_path / "b.csv", birds())
    spec = {"source": "csv", "path": "b.csv", "label": "species"}
    # a trained model's order wins over the file's sorted order (a file with fewer classes, say)
    (_, y), _ = load_source(spec, tmp_path, INPUTS, classes={"species": ["Gentoo", "Chinstrap", "Adelie"]})
    assert y.tolist()[:3] == [0, 2, 1]
    text = message(lambda: load_source(spec, tmp_path, INPUTS, classes={"species": ["Adelie", "Gentoo"]}))
    assert "line 4, column 2 ('species') holds a class the model was not trained on" in text
    assert "Chinstrap" not in text.split("knows")[0]  # the file's value is not echoed, only the known names


def test_one_input_takes_every_feature_column(tmp_path):
    rows = [["a", "b", "y"]] + [[str(i), str(2 * i), str(i % 2)] for i in range(6)]
    write(tmp_path / "n.csv", rows)
    (x, y), _ = load_source({"source": "csv", "path": "n.csv", "label": "y"}, tmp_path, [("whatever", (2,), None)])
    assert x.dtype == np.float32 and x.shape == (6, 2) and y.dtype == np.int64
    # a text input of one column: the column, (samples, 1), as text
    rows = [["text", "label"], ["Hello, world", "greeting"], ['She said "no".', "speech"], ["a\nb", "greeting"]]
    write(tmp_path / "t.csv", rows)
    found = {}
    (x, y), _ = load_source({"source": "csv", "path": "t.csv"}, tmp_path, [("text", (), "string")], found=found)
    assert x.shape == (3, 1) and x[:, 0].tolist() == ["Hello, world", 'She said "no".', "a\nb"]
    assert found == {"label": ["greeting", "speech"]} and y.tolist() == [0, 1, 0]


def test_all_numeric_files_keep_the_fast_path(tmp_path, monkeypatch):
    from tfspec.runtime import csvfile

    write(tmp_path / "n.csv", [["a", "b", "y"]] + [[str(i), str(i / 3), str(i % 2)] for i in range(50)])
    monkeypatch.setattr(csvfile, "read_columns", None)  # the csv module's path must not be taken
    (x, _), _ = load_source({"source": "csv", "path": "n.csv", "label": "y"}, tmp_path, [("a", (2,), None)])
    assert x.shape == (50, 2)
    (x, _), _ = load_source(
        {"source": "csv", "path": "n.csv", "label": "y"}, tmp_path, [("b", (1,), None), ("a", (1,), "int32")]
    )
    assert x[0].tolist() == pytest.approx([i / 3 for i in range(50)], abs=1e-5) and x[1].tolist() == list(range(50))


# ---------------------------------------------------------------- missing values and bad rows


@pytest.mark.parametrize(
    "row, needles",
    [
        (["3100", "Adelie", "2008", "", "male"], ["line 3, column 4 ('island') is empty (a missing value)"]),
        (["NA", "Adelie", "2008", "Dream", "male"], ["line 3, column 1 ('mass') is not a number"]),
        (["", "Adelie", "2008", "Dream", "male"], ["line 3, column 1 ('mass') is empty (a missing value)"]),
        (["nan", "Adelie", "2008", "Dream", "male"], ["line 3, column 1 ('mass') is not finite"]),
        (["3100", "", "2008", "Dream", "male"], ["line 3, column 2 ('species') is empty"]),
        (["3100", "Adelie", "2008", "Dream"], ["line 3 has 4 values; the header row has 5 columns"]),
    ],
)
def test_missing_values_and_bad_rows_name_the_line_and_column(tmp_path, row, needles):
    rows = birds(4)
    rows[2] = row
    write(tmp_path / "b.csv", rows)
    text = message(lambda: load_source({"source": "csv", "path": "b.csv", "label": "species"}, tmp_path, INPUTS))
    for needle in needles:
        assert needle in text, text


def test_line_numbers_count_the_lines_of_quoted_values(tmp_path):
    rows = [["text", "y"], ["one\ntwo\nthree", "a"], ["fine", "b"], ["", "a"]]
    write(tmp_path / "t.csv", rows)
    text = message(lambda: load_source({"source": "csv", "path": "t.csv"}, tmp_path, [("text", (), "string")]))
    assert "line 6, column 1 ('text') is empty" in text
    (tmp_path / "q.csv").write_text('text,y\n"unclosed,a\nb,c\n', encoding="utf-8")
    text = message(lambda: load_source({"source": "csv", "path": "q.csv"}, tmp_path, [("text", (), "string")]))
    assert "line 2 has 1 values; the header row has 2 columns" in text  # the quote runs to the end


def test_labels_that_mix_numbers_and_names_are_refused(tmp_path):
    write(tmp_path / "m.csv", [["text", "y"], ["a", "1"], ["b", "0"], ["c", "maybe"]])
    text = message(lambda: load_source({"source": "csv", "path": "m.csv"}, tmp_path, [("text", (), "string")]))
    assert "line 4, column 2 ('y') is not a number; the first row's label is a number" in text


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    (tmp_path / "l.csv").write_bytes("text,y\nfine,a\ncaf\xe9,b\n".encode("latin-1"))
    text = message(lambda: load_source({"source": "csv", "path": "l.csv"}, tmp_path, [("text", (), "string")]))
    assert "line 3 has a byte that is not UTF-8" in text


def test_an_input_without_its_column_is_a_data_error(tmp_path):
    write(tmp_path / "b.csv", birds())
    spec = {"source": "csv", "path": "b.csv", "label": "species"}
    inputs = [*INPUTS[:2], ("beak", (1,), "float32")]
    text = message(lambda: load_source(spec, tmp_path, inputs))
    assert "input 'beak' has no column of its name" in text and "the header row has 5 columns" in text
    assert "island" not in text  # the file's text is not quoted
    text = message(lambda: load_source({**spec, "features": ["island", "sex"]}, tmp_path, INPUTS))
    assert "input 'mass' reads the column of its name" in text and "features= leaves out" in text
    text = message(lambda: load_source(spec, tmp_path, [*INPUTS[:2], ("species", (1,), "string")]))
    assert "input 'species' is named like a label column" in text


# ---------------------------------------------------------------- text arrays given in Python


def test_text_only_for_inputs_declared_as_strings():
    x = np.array(["a b", "c"] * 5, dtype=object)
    y = np.arange(10) % 2
    text_input = [("text", (), "string")]
    split_data({"train": (x, y)}, training(), inputs=text_input)  # accepted
    assert "x holds Python objects" in message(lambda: split_data({"train": (x, y)}, training()))
    assert "holds text" in message(lambda: split_data({"train": (x.astype(str), y)}, training()))
    from tfspec.runtime.signature import Signature, prepare_x

    sig = Signature(inputs=text_input)
    with_none = x.copy()
    with_none[3] = None
    assert "x holds a missing value (None) at sample 3" in message(lambda: prepare_x(with_none, sig))
    assert "is declared as a string" in message(lambda: prepare_x(np.arange(10.0), sig))
    numbers = Signature(inputs=[("v", (1,), "float32")])
    assert "or declare input 'v' as a string" in message(lambda: prepare_x(x.reshape(-1, 1), numbers))


# ---------------------------------------------------------------- the compile path: E608

MODEL = """
model Birds {
    input island: string[1]
    input mass: float32[1]
    island -> StringLookup(max_tokens=4, output_mode="one_hot", pad_to_max_tokens=True) -> i
    mass -> Normalization() -> m
    [i, m] -> Concatenate() -> Dense(3, activation="softmax") -> species
    output species
}

train {
    loss   = SparseCategoricalCrossentropy()
    epochs = 2
    batch  = 4
    data   = csv("birds.csv", label="species"FEATURES)
}
"""


def spec_text(features=""):
    return MODEL.replace("FEATURES", features)


def codes_of(text, path):
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(text, filename=str(path))
    return info.value.diagnostics


def test_check_reads_the_header_of_the_file_beside_the_spec(tmp_path):
    spec = tmp_path / "birds.tfs"
    spec.write_text(spec_text(), encoding="utf-8")
    tfspec.load(str(spec))  # no file yet: nothing to say (the runtime names a missing file)
    write(tmp_path / "birds.csv", [["island", "weight", "species"], ["Dream", "3000", "Adelie"]])
    (d,) = codes_of(spec_text(), spec)
    assert d.code == "E608" and (d.span.line, d.span.column) == (15, 14)
    assert "input 'mass' has no column of its name" in d.message and "the header row has 3 columns" in d.hint
    write(tmp_path / "birds.csv", [["island", "mass", "species"], ["Dream", "3000", "Adelie"]])
    tfspec.load(str(spec))


def test_check_judges_features_without_the_file(tmp_path):
    (d,) = codes_of(spec_text(', features=["island"]'), tmp_path / "nowhere" / "birds.tfs")
    assert d.code == "E608" and "input 'mass'" in d.message and "features" in d.hint
    tfspec.loads(spec_text(', features=["island", "mass"]'), filename=str(tmp_path / "nowhere" / "birds.tfs"))


def test_the_column_rule():
    assert input_columns(["a", "b", "y"], ["y"], None, ["x"]) == {"x": ["a", "b"]}
    assert input_columns(["a", "b", "y"], ["y"], ["b"], []) == {None: ["b"]}
    assert input_columns(["a", "b", "y"], ["y"], None, ["b", "a"]) == {"b": ["b"], "a": ["a"]}
    with pytest.raises(ColumnProblem):
        input_columns(["a", "b", "y"], ["y"], None, ["a", "c"])


def test_header_row_reads_only_a_whole_first_row(tmp_path):
    assert header_row(write(tmp_path / "h.csv", [["a", "b c", "d,e"], ["1", "2", "3"]])) == ["a", "b c", "d,e"]
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfx,y\n1,2\n")
    assert header_row(str(tmp_path / "bom.csv")) == ["x", "y"]
    (tmp_path / "bad.csv").write_bytes(b"x,\xff\n1,2\n")
    assert header_row(str(tmp_path / "bad.csv")) is None
    assert header_row(str(tmp_path / "missing.csv")) is None


# ---------------------------------------------------------------- end to end: train, reopen, predict


def test_string_labels_train_and_the_run_folder_maps_them_back(tmp_path, capsys):
    quiet_tensorflow()
    from tfspec import cli

    rows = birds(60)[1:]
    write(tmp_path / "birds.csv", [["island", "mass", "species"]] + [[r[3], r[0], r[1]] for r in rows])
    (tmp_path / "birds.tfs").write_text(spec_text(), encoding="utf-8")
    run = str(tmp_path / "run")
    result = tfspec.train(str(tmp_path / "birds.tfs"), out_dir=run, seed=0, epochs=3)
    assert result.classes == {"species": ["Adelie", "Chinstrap", "Gentoo"]}
    assert all(math.isfinite(v) for v in result.history["loss"])
    with open(os.path.join(run, "classes.json"), encoding="utf-8") as f:
        assert f.read().count("Chinstrap") == 1
    again = tfspec.evaluate(run)
    assert again == pytest.approx(result.test, abs=1e-6)
    # a file holding one of the classes: numbered as the run knows them (Gentoo is 2, not 0)
    write(tmp_path / "one.csv", [["island", "mass", "species"]] + [["Dream", "3000", "Gentoo"]] * 10)
    source = {"source": "csv", "path": str(tmp_path / "one.csv"), "label": "species"}
    one = tfspec.evaluate(run, data=source)
    probs = tfspec.predict(run, [np.array([["Dream"]], dtype=object), np.array([[3000.0]], np.float32)])
    assert one["loss"] == pytest.approx(float(-np.log(probs[0, 2])), rel=1e-4)
    # `tfspec predict` writes the class names beside the probabilities
    assert cli.main(["predict", run, "--data", str(tmp_path / "birds.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    with open(tmp_path / "p.csv", encoding="utf-8") as f:
        table = list(csv.reader(io.StringIO(f.read())))
    assert table[0] == ["species_0", "species_1", "species_2", "species_class"]
    names = ["Adelie", "Chinstrap", "Gentoo"]
    for row in table[1:]:
        assert row[3] == names[int(np.argmax([float(v) for v in row[:3]]))]


def test_train_stops_before_the_first_step_without_an_input_column(tmp_path):
    quiet_tensorflow()
    (tmp_path / "birds.tfs").write_text(spec_text(), encoding="utf-8")
    spec = tfspec.load(str(tmp_path / "birds.tfs"))  # no file when checked
    write(tmp_path / "birds.csv", [["island", "weight", "species"], ["Dream", "3000", "Adelie"]] * 3)
    text = message(lambda: tfspec.train(spec, epochs=1))
    assert "birds.csv: input 'mass' has no column of its name" in text
