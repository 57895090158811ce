"""Keras comparisons of the entries in tfspec/ir/layers_preprocessing.py and layers_lookup.py,
collected by tests/test_catalog.py.

(name, input shapes, args, kwargs) as in test_catalog: CASES are built in Keras and compared, BAD
are refused by the catalog and by Keras, KERAS_REFUSES are argument lists both refuse. An input
is a shape (float32) or a (shape, dtype) pair: ((), "string") is one string per sample.
"""

V = ["a", "b c", "d"]  # a vocabulary of three tokens


def S(*shape):
    return (tuple(shape), "string")


def I64(*shape):
    return (tuple(shape), "int64")


def I32(*shape):
    return (tuple(shape), "int32")


CASES: list = [
    # Normalization: mean, variance and a count as non-trainable weights when it adapts
    ("Normalization", [(3,)], (), {}),
    ("Normalization", [(3, 4)], (), {"axis": None}),
    ("Normalization", [(3, 4)], (), {"axis": (1, 2)}),
    ("Normalization", [(3, 4)], (), {"axis": (-1, 1)}),
    ("Normalization", [(2, 3, 4)], (), {"axis": -2}),
    ("Normalization", [(4,)], (), {"mean": [1.0, 2.0, 3.0, 4.0], "variance": [1.0, 1.0, 1.0, 4.0]}),
    ("Normalization", [(4,)], (), {"mean": 2.0, "variance": 1.0}),
    ("Normalization", [(4,)], (-1, [1.0], [2.0], True), {}),
    ("Normalization", [(3, 4)], (), {"axis": (1, 2), "mean": [[0.0] * 4] * 3, "variance": [[1.0] * 4] * 3}),
    ("Normalization", [(3, 4)], (), {"axis": (1, 2), "mean": [0.0] * 4, "variance": [1.0] * 4}),
    ("Normalization", [I32(3)], (), {"trainable": False}),
    ("Normalization", [()], (), {"axis": None}),
    # Discretization
    ("Discretization", [(3,)], ([0.2, 0.5],), {}),
    ("Discretization", [(3,)], (), {"num_bins": 4}),
    ("Discretization", [(1,)], ([0.0, 1.0],), {"output_mode": "one_hot"}),
    ("Discretization", [()], ([0.0, 1.0],), {"output_mode": "one_hot"}),
    ("Discretization", [(2, 1)], ([0.2, 0.2, 0.5],), {"output_mode": "one_hot"}),
    ("Discretization", [(3,)], ([0.2, 0.5],), {"output_mode": "multi_hot"}),
    ("Discretization", [(2, 3)], ([0.2, 0.5],), {"output_mode": "count"}),
    ("Discretization", [(2, 3)], (), {"num_bins": 5, "output_mode": "count"}),
    ("Discretization", [I32(3)], ((1, 2),), {"dtype": "float64", "output_mode": "one_hot"}),
    # CategoryEncoding
    ("CategoryEncoding", [I32(3)], (4,), {}),
    ("CategoryEncoding", [I32()], (4, "one_hot"), {}),
    ("CategoryEncoding", [I64(1)], (), {"num_tokens": 5, "output_mode": "one_hot"}),
    ("CategoryEncoding", [I32(3)], (4, "one_hot"), {}),
    ("CategoryEncoding", [I32(2, 1)], (4, "one_hot"), {}),
    ("CategoryEncoding", [I32(3)], (4, "count"), {"dtype": "int32"}),
    ("CategoryEncoding", [(3,)], (6, "binary"), {}),
    # Hashing
    ("Hashing", [S(3)], (5,), {}),
    ("Hashing", [S()], (5,), {}),
    ("Hashing", [S(1)], (5,), {"output_mode": "one_hot"}),
    ("Hashing", [S(2, 1)], (4,), {"output_mode": "one_hot"}),
    ("Hashing", [I64(3)], (5,), {"output_mode": "multi_hot"}),
    ("Hashing", [(3,)], (5,), {"output_mode": "count"}),
    ("Hashing", [S(3)], (5, "a", 3), {}),
    ("Hashing", [S(3)], (5,), {"salt": (1, 2), "dtype": "int32"}),
    # HashedCrossing
    ("HashedCrossing", [S(), I64()], (7,), {}),
    ("HashedCrossing", [S(1), S(1)], (7,), {"output_mode": "one_hot"}),
    ("HashedCrossing", [S(), S()], (7, "one_hot"), {}),
    ("HashedCrossing", [I32(1), I64(1)], (0,), {}),
    # StringLookup
    ("StringLookup", [S(3)], (), {"vocabulary": V}),
    ("StringLookup", [S()], (), {"vocabulary": V, "output_mode": "one_hot"}),
    ("StringLookup", [S(2, 1)], (), {"vocabulary": V, "output_mode": "one_hot"}),
    ("StringLookup", [S(3)], (), {"vocabulary": V, "output_mode": "one_hot", "mask_token": ""}),
    ("StringLookup", [S(1)], (), {"vocabulary": V, "output_mode": "multi_hot", "num_oov_indices": 2}),
    ("StringLookup", [S(3)], (), {"vocabulary": ["[UNK]", *V], "output_mode": "count"}),
    ("StringLookup", [S(3)], (), {"max_tokens": 10, "pad_to_max_tokens": True, "output_mode": "multi_hot"}),
    ("StringLookup", [S(3)], (), {"vocabulary": V, "output_mode": "tf_idf", "idf_weights": [0.5, 1.0, 2.0]}),
    ("StringLookup", [S(3)], (10,), {}),
    ("StringLookup", [S(None)], (None, 0), {"vocabulary": V, "output_mode": "binary"}),
    ("StringLookup", [I64(3)], (), {"vocabulary": V, "invert": True}),
    # IntegerLookup
    ("IntegerLookup", [I64(3)], (), {"vocabulary": [3, 7, 9]}),
    ("IntegerLookup", [I64(1)], (), {"vocabulary": [3, 7, 9], "output_mode": "one_hot"}),
    ("IntegerLookup", [I32(3)], (), {"vocabulary": [3, 7, 9], "mask_token": 0, "output_mode": "multi_hot"}),
    ("IntegerLookup", [I64(3)], (), {"vocabulary": [-1, 3, 7], "output_mode": "count"}),
    ("IntegerLookup", [I64(3)], (5,), {"pad_to_max_tokens": True, "output_mode": "count"}),
    ("IntegerLookup", [I64(3)], (), {"vocabulary": [3, 7], "num_oov_indices": 3, "oov_method": "farmhash", "salt": 4}),
    ("IntegerLookup", [I64(3)], (), {"vocabulary": [3, 7], "output_mode": "tf-idf", "idf_weights": [1.0, 2.0]}),
    ("IntegerLookup", [I32(3)], (), {"vocabulary": [1, 2], "invert": True}),
    # TextVectorization
    ("TextVectorization", [S()], (), {"vocabulary": V}),
    ("TextVectorization", [S(1)], (), {"vocabulary": V, "output_sequence_length": 5}),
    ("TextVectorization", [S()], (100,), {"output_sequence_length": 8}),
    ("TextVectorization", [S()], (), {"vocabulary": V, "output_mode": "multi_hot"}),
    ("TextVectorization", [S()], (), {"vocabulary": V, "output_mode": "one_hot"}),
    ("TextVectorization", [S()], (), {"vocabulary": V, "output_mode": "count", "ngrams": 2}),
    ("TextVectorization", [S()], (), {"vocabulary": V, "output_mode": "tf_idf", "idf_weights": [1.0, 2.0, 3.0]}),
    ("TextVectorization", [S()], (20,), {"pad_to_max_tokens": True, "output_mode": "tf_idf"}),
    ("TextVectorization", [S(3)], (), {"vocabulary": V, "split": None, "output_mode": "one_hot"}),
    ("TextVectorization", [S(1)], (), {"vocabulary": V, "split": None, "output_mode": "multi_hot"}),
    ("TextVectorization", [S(3)], (), {"vocabulary": V, "split": None, "output_sequence_length": 5}),
    ("TextVectorization", [S()], (), {"vocabulary": ["", "[UNK]", *V]}),
    ("TextVectorization", [S()], (), {"vocabulary": ["[UNK]", *V], "output_mode": "multi_hot"}),
    ("TextVectorization", [S()], (None, None, "character", (1, 2)), {"vocabulary": V, "output_sequence_length": 4}),
]

BAD: list = [
    ("Normalization", [(4,)], (), {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 1.0, 1.0]}),
    ("Normalization", [(3, 4)], (), {"axis": (1, 2), "mean": [0.0] * 3, "variance": [1.0] * 3}),
    ("Normalization", [()], (), {}),
    ("Normalization", [(None,)], (), {}),
    ("Normalization", [(3,)], (), {"axis": 0}),
    ("Normalization", [(3, 4)], (), {"axis": 3}),
    ("HashedCrossing", [S(3), S(3)], (4,), {}),
    ("HashedCrossing", [S(), S(1)], (4,), {}),
    ("TextVectorization", [S(3)], (), {"vocabulary": V}),
    ("TextVectorization", [S(None)], (), {"vocabulary": V, "output_sequence_length": 4}),
    # an encoding sized by a vocabulary still to be learnt (E505): Keras fails when it runs
    ("StringLookup", [S(3)], (), {"output_mode": "multi_hot"}),
    ("IntegerLookup", [I64(1)], (), {"output_mode": "one_hot"}),
    ("TextVectorization", [S()], (20,), {"output_mode": "multi_hot"}),
]

KERAS_REFUSES: list = [
    ("Normalization", (), {"mean": [1.0]}),
    ("Normalization", (), {"mean": [1.0, 2.0], "variance": [1.0]}),
    ("Normalization", (), {"mean": [[1.0]], "variance": [[1.0]]}),
    ("Discretization", (), {}),
    ("Discretization", ([0.5],), {"num_bins": 3}),
    ("Discretization", (), {"num_bins": -1}),
    ("Discretization", ([0.5],), {"output_mode": "tf_idf"}),
    ("CategoryEncoding", (), {}),
    ("CategoryEncoding", (0,), {}),
    ("CategoryEncoding", (4, "int"), {}),
    ("Hashing", (0,), {}),
    ("Hashing", (4,), {"output_mode": "tf_idf"}),
    ("Hashing", (4,), {"dtype": "float32"}),
    ("Hashing", (4,), {"salt": "x"}),
    ("Hashing", (4,), {"salt": (1, 2, 3)}),
    ("HashedCrossing", (4,), {"output_mode": "multi_hot"}),
    ("StringLookup", (), {"max_tokens": 1}),
    ("StringLookup", (), {"pad_to_max_tokens": True}),
    ("StringLookup", (), {"vocabulary": ["a"], "invert": True, "output_mode": "one_hot"}),
    ("StringLookup", (), {"vocabulary": ["a", "a"]}),
    ("StringLookup", (), {"vocabulary": []}),
    ("StringLookup", (), {"vocabulary": "vocab.txt"}),
    ("StringLookup", (), {"vocabulary": ["a", "b"], "max_tokens": 2}),
    ("StringLookup", (), {"num_oov_indices": -1}),
    ("StringLookup", (), {"vocabulary": ["a"], "output_mode": "tf_idf"}),
    ("StringLookup", (), {"vocabulary": ["a", "b"], "output_mode": "tf_idf", "idf_weights": [1.0]}),
    ("StringLookup", (), {"vocabulary": ["a"], "idf_weights": [1.0]}),
    ("StringLookup", (), {"vocabulary": ["a", "m"], "mask_token": "m"}),
    ("StringLookup", (), {"vocabulary": ["a", "[UNK]"], "invert": True}),
    ("StringLookup", (), {"output_mode": "bad"}),
    ("IntegerLookup", (), {"vocabulary_dtype": "int32"}),
    ("IntegerLookup", (), {"vocabulary": [1], "salt": 3}),
    ("IntegerLookup", (), {"oov_method": "other"}),
    ("IntegerLookup", (), {"vocabulary": [1, 2, 0], "mask_token": 0}),
    ("TextVectorization", (), {"standardize": "upper"}),
    ("TextVectorization", (), {"split": "comma"}),
    ("TextVectorization", (), {"ngrams": [1, 2]}),
    ("TextVectorization", (), {"output_mode": "multi_hot", "output_sequence_length": 4}),
    ("TextVectorization", (), {"vocabulary": ["", "a"]}),
    ("TextVectorization", (), {"vocabulary": ["a", "b", "c"], "max_tokens": 4}),
]
