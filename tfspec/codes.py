"""Every diagnostic code tfspec reports, explained; and the `tfspec explain` command.

Each entry has a title, an explanation, an example that produces the code and the example
fixed. `check` says how tests/test_tools.py proves the example right, so the docs cannot rot:
"load" (tfspec.loads raises the code; the fix loads), "sequential" or "functional" (generating
that Keras style raises it; the fix generates), or None when the example is not a spec.
"""

from __future__ import annotations

import difflib
import sys
import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    code: str
    title: str
    explanation: str
    bad: str
    fix: str
    check: str | None = "load"


def model(*lines: str, train: str = "") -> str:
    """A small spec: a model M whose body is `lines`, and optionally a train section."""
    body = "".join(f"    {line}\n" for line in lines)
    return f"model M {{\n{body}}}\n" + (f"\ntrain {{\n{train}}}\n" if train else "")


def masked_repeat(embedding: str) -> str:
    """A search spec whose model repeats a Conv1D by a hyperparameter after `embedding`."""
    return "search {\n    depth = int(1, 3)\n}\n\n" + model(
        "input t: int32[6]",
        f"t -> {embedding} -> x",
        'x -> Conv1D(8, 3, padding="same") * depth -> GlobalAveragePooling1D() -> y',
        "output y",
    )


def masked_branches(first: str, second: str) -> str:
    """A block choosing between two chains with `if`, applied to a masked sequence."""
    block = (
        f"block B(flag) {{\n    input x\n    if flag {{\n        {first}\n    }} else {{\n        {second}\n    }}\n"
    )
    block += "    output y\n}\n\n"
    return block + model(
        "input t: int32[6]",
        "t -> Embedding(50, 4, mask_zero=True) -> B(True) -> B(False) -> GlobalAveragePooling1D() -> y",
        "output y",
    )


INPUT = "input x: float32[4]"
TRAIN_OK = "    loss   = mse\n    epochs = 3\n"

CODES = [
    Code(
        "E001",
        "the file cannot be read",
        "The path does not name a readable spec: it is missing, a directory, unreadable, larger than "
        "1 MiB, binary (it holds a NUL byte) or not UTF-8.",
        "$ tfspec check specs/mnist.tfs     # no such file",
        "$ tfspec check specs/mnist_mlp.tfs  # the path of a UTF-8 .tfs file",
        check=None,
    ),
    Code(
        "E100",
        "syntax error",
        "The parser met a token where the grammar does not allow one. The message says what it "
        "expected there; the hint names the usual mistake (a missing comma, `:` for `=`, ...).",
        model(INPUT, 'x -> Dense(10 activation="relu") -> y', "output y"),
        model(INPUT, 'x -> Dense(10, activation="relu") -> y', "output y"),
    ),
    Code(
        "E101",
        "unexpected character",
        "A character that no token of the language starts with, such as `;` or a non-ASCII letter "
        "outside a string. Names are ASCII letters, digits and `_`; statements need no terminator.",
        model(INPUT, "x -> Dense(10) -> y;", "output y"),
        model(INPUT, "x -> Dense(10) -> y", "output y"),
    ),
    Code(
        "E102",
        "unexpected end of file",
        "The file ends inside a section (a `{` is not closed), or holds nothing but blanks and comments.",
        "model M {\n    input x: float32[4]\n    x -> Dense(10) -> y\n    output y\n",
        model(INPUT, "x -> Dense(10) -> y", "output y"),
    ),
    Code(
        "E103",
        "unterminated string",
        "A string has no closing quote on its line. Strings use \"...\" or '...' and cannot span lines.",
        model(INPUT, 'x -> Dense(10, activation="relu) -> y', "output y"),
        model(INPUT, 'x -> Dense(10, activation="relu") -> y', "output y"),
    ),
    Code(
        "E104",
        "brackets nested too deep",
        "Brackets are nested more than 64 deep. Such a value is refused before parsing; no real argument needs it.",
        model(INPUT, "x -> Dense(10, name=" + "[" * 65 + "]" * 65 + ") -> y", "output y"),
        model(INPUT, "x -> Dense(10) -> y", "output y"),
    ),
    Code(
        "E105",
        "given twice",
        "An argument of a call, or a key of a dict, appears twice.",
        model(INPUT, 'x -> Dense(10, activation="relu", activation="tanh") -> y', "output y"),
        model(INPUT, 'x -> Dense(10, activation="tanh") -> y', "output y"),
    ),
    Code(
        "E106",
        "invalid escape sequence",
        "A backslash in a string starts an escape Python does not know (such as \\q). Write \\\\ for a backslash.",
        model(INPUT, 'x -> Dense(10, activation="re\\lu") -> y', "output y"),
        model(INPUT, 'x -> Dense(10, activation="relu") -> y', "output y"),
    ),
    Code(
        "E107",
        "positional argument after keyword arguments",
        "As in Python, positional arguments come first; and a block parameter without a default "
        "cannot follow one with a default.",
        model(INPUT, 'x -> Dense(activation="relu", 10) -> y', "output y"),
        model(INPUT, 'x -> Dense(10, activation="relu") -> y', "output y"),
    ),
    Code(
        "E200",
        "the normalised spec does not fit the schema",
        "The plain-JSON form of the spec breaks a rule of the JSON Schema (`tfspec schema`) that "
        "has no more specific code. Text written in the language does not get here; a spec dict "
        "built by a program and passed to the checker can.",
        'tfspec.check.schema.validate({"blocks": [], "model": None, "train": None, "extra": 1}, {}, "x")',
        'tfspec.check.schema.validate({"blocks": [], "model": None, "train": None}, {}, "x")',
        check=None,
    ),
    Code(
        "E201",
        "unknown training setting",
        "The train section holds a setting tfspec does not know; the hint suggests the closest "
        "known one. `tfspec schema` lists them all.",
        model(INPUT, "x -> Dense(10) -> y", "output y", train="    loss  = mse\n    epoch = 3\n"),
        model(INPUT, "x -> Dense(10) -> y", "output y", train=TRAIN_OK),
    ),
    Code(
        "E202",
        "wrong type of value",
        "A value has the wrong type for its place: a string where a number belongs, an unknown "
        "dtype, a call where a literal is needed, ...",
        model(INPUT, "x -> Dense(10) -> y", "output y", train='    loss   = mse\n    epochs = "three"\n'),
        model(INPUT, "x -> Dense(10) -> y", "output y", train=TRAIN_OK),
    ),
    Code(
        "E203",
        "value out of range",
        "A number is outside its allowed range: a dimension or repeat count below 1, epochs = 0, "
        "validation not between 0 and 1, ...",
        model(INPUT, "x -> Dense(10) -> y", "output y", train="    loss   = mse\n    epochs = 0\n"),
        model(INPUT, "x -> Dense(10) -> y", "output y", train=TRAIN_OK),
    ),
    Code(
        "E301",
        "not defined",
        "A chain source, an output, a layer reference or an argument names something that nothing "
        "defines. Inputs, chain results, `layer` declarations and block parameters define names.",
        model(INPUT, "x -> Dense(10) -> y", "output z"),
        model(INPUT, "x -> Dense(10) -> y", "output y"),
    ),
    Code(
        "E302",
        "defined twice",
        "A name is defined twice in one body, a setting is given twice, or the spec holds a second "
        "model or train section. Each name stands for one thing.",
        model(INPUT, "x -> Dense(10) -> y", "x -> Dense(5) -> y", "output y"),
        model(INPUT, "x -> Dense(10) -> y", "y -> Dense(5) -> z", "output z"),
    ),
    Code(
        "E303",
        "cycle",
        "Tensors depend on each other in a loop, or a block uses itself. A model is a directed acyclic graph.",
        model(INPUT, "[x, b] -> Add() -> a", "a -> Dense(4) -> b", "output b"),
        model(INPUT, "x -> Dense(4) -> a", "[x, a] -> Add() -> b", "output b"),
    ),
    Code(
        "E304",
        "never used",
        "An input, a chain result or a declared layer takes no part in computing the outputs. "
        "Use it, list it in `output`, or delete it.",
        model(INPUT, "input unused: float32[4]", "x -> Dense(10) -> y", "output y"),
        model(INPUT, "x -> Dense(10) -> y", "output y"),
    ),
    Code(
        "E305",
        "no output",
        "A model or block declares no `output`, or a block declares more than one (a block returns one tensor).",
        model(INPUT, "x -> Dense(10) -> y"),
        model(INPUT, "x -> Dense(10) -> y", "output y"),
    ),
    Code(
        "E306",
        "chain without a result",
        "A chain must end with the name of its result (`-> y`) and hold at least one layer.",
        model(INPUT, "x -> Dense(10)", "output x"),
        model(INPUT, "x -> Dense(10) -> y", "output y"),
    ),
    Code(
        "E307",
        "invalid name",
        "A name is a Python keyword (class, lambda, ...), starts with `__`, or is not a plain "
        "identifier; it would break the generated Python.",
        model(INPUT, "x -> Dense(10) -> lambda", "output lambda"),
        model(INPUT, "x -> Dense(10) -> lambda_", "output lambda_"),
    ),
    Code(
        "E308",
        "missing part",
        "Something the spec needs is absent: a model, a shape on a model input, an input in a "
        "block; or present where it is not allowed (a shape on a block input).",
        model("input x", "x -> Dense(10) -> y", "output y"),
        model(INPUT, "x -> Dense(10) -> y", "output y"),
    ),
    Code(
        "E309",
        "blocks nested too deep",
        "Blocks used inside blocks nest at most 32 deep: the subclassing style makes one Keras layer "
        "per level, and Keras builds nested layers by recursion (it fails past about 130 levels). "
        "Also refused: a block argument that grows as blocks pass it down (`Inner([u, u])` doubles "
        "at every level) past 100,000 values or 64 brackets, and blocks whose distinct uses (new "
        "arguments or input shapes at every level) multiply past what can be checked. Use blocks "
        "one after another in a chain rather than one inside another.",
        "".join(
            f"block B{i}() {{ input x x -> {f'B{i - 1}()' if i else 'Dense(4)'} -> y output y }}\n" for i in range(33)
        )
        + "model M { input x: float32[4] x -> B32() -> y output y }\n",
        "block B0() {\n    input x\n    x -> Dense(4) -> y\n    output y\n}\n\n"
        + model(INPUT, "x -> B0() * 33 -> y", "output y"),
    ),
    Code(
        "E310",
        "a loss term is not a float tensor",
        "`add_loss NAME` adds the mean of a tensor (over the batch and every axis) to the model's "
        "loss, as Keras's add_loss does: it must be a float tensor, since nothing can be learnt "
        "from an integer or a boolean (a comparison, a cast to an integer type, an integer input).",
        model(INPUT, "x -> Dense(4) -> y", "big = y > 1.0", "add_loss big", "output y"),
        model(INPUT, "x -> Dense(4) -> y", 'big = cast(y > 1.0, "float32")', "add_loss big", "output y"),
    ),
    Code(
        "E311",
        "a loss term is named like another logged value",
        "Each `add_loss` term is logged under the name of its tensor (and `val_<name>` on the "
        "validation data) beside the loss, each output's loss and the metrics; a term named `loss`, "
        "`lr`, `epoch`, like a metric or an output's loss, or like the validation form of one of "
        "them, would be logged under a name that is taken. Give the tensor another name.",
        model(
            INPUT,
            "x -> Dense(4) -> y",
            "mae = mean(abs(y), axis=1)",
            "add_loss mae",
            "output y",
            train="    loss    = mse\n    metrics = [mae]\n",
        ),
        model(
            INPUT,
            "x -> Dense(4) -> y",
            "penalty = mean(abs(y), axis=1)",
            "add_loss penalty",
            "output y",
            train="    loss    = mse\n    metrics = [mae]\n",
        ),
    ),
    Code(
        "E401",
        "unknown layer",
        "A call names no Keras layer tfspec knows and no block of the spec; or a layer kind is "
        "used without parentheses.",
        model(INPUT, "x -> Dense2(10) -> y", "output y"),
        model(INPUT, "x -> Dense(10) -> y", "output y"),
    ),
    Code(
        "E402",
        "no such argument",
        "A keyword argument that the layer, block, optimizer, loss, metric or callback does not "
        "take (or one given twice).",
        model(INPUT, 'x -> Dense(10, activaton="relu") -> y', "output y"),
        model(INPUT, 'x -> Dense(10, activation="relu") -> y', "output y"),
    ),
    Code(
        "E403",
        "missing argument",
        "A required argument is not given: a layer's (Dense needs units), a block parameter without "
        "a default, or a data source's (csv needs a path and a label).",
        model(INPUT, "x -> Dense() -> y", "output y"),
        model(INPUT, "x -> Dense(10) -> y", "output y"),
    ),
    Code(
        "E404",
        "wrong type of argument",
        "An argument has a type the layer does not accept.",
        model(INPUT, 'x -> Dense("ten") -> y', "output y"),
        model(INPUT, "x -> Dense(10) -> y", "output y"),
    ),
    Code(
        "E405",
        "argument out of range",
        "An argument has the right type but a value the layer does not accept.",
        model(INPUT, "x -> Dense(0) -> y", "output y"),
        model(INPUT, "x -> Dense(1) -> y", "output y"),
    ),
    Code(
        "E406",
        "too many positional arguments",
        "A call passes more positional arguments than it takes; pass the later ones by name.",
        model(INPUT, "x -> Dropout(0.5, None, 1, 2) -> y", "output y"),
        model(INPUT, "x -> Dropout(0.5, seed=1) -> y", "output y"),
    ),
    Code(
        "E407",
        "wrong number of inputs",
        "A layer gets more or fewer tensors than it takes. Merge layers (Add, Concatenate, ...) "
        "take a list source; the others take one tensor.",
        model(INPUT, "x -> Add() -> y", "output y"),
        model(INPUT, "x -> Dense(4) -> h", "[x, h] -> Add() -> y", "output y"),
    ),
    Code(
        "E408",
        "wrong call argument",
        "A layer's call (its second argument list, `LSTM(8)(x, initial_state=[h, c])`) is given an "
        "argument it does not take, or a value where it takes tensors (or tensors where it takes a value). "
        "`tfspec explain LSTM` lists what each layer's call takes.",
        model(INPUT, "x -> Dense(4)(initial_state=x) -> y", "output y"),
        model(
            "input x: float32[5, 4]",
            "_, h = GRU(4, return_state=True)(x)",
            "x -> GRU(4)(initial_state=[h]) -> y",
            "output y",
        ),
    ),
    Code(
        "E409",
        "wrong number of results",
        "A call yields a different number of tensors from the names given to them: an LSTM with "
        "return_state=True yields three (`out, h, c`), a GRU or SimpleRNN two, an attention layer with "
        "return_attention_scores=True two, a block one per `output`. Name each; `_` for one left unused.",
        model("input x: float32[5, 4]", "out, _ = LSTM(4, return_state=True)(x)", "output out"),
        model("input x: float32[5, 4]", "out, _, _ = LSTM(4, return_state=True)(x)", "output out"),
    ),
    Code(
        "E410",
        "expression",
        "An expression cannot be computed or is used where it does not belong: a value read where a "
        "tensor is needed or the reverse, an unknown operation, a value that needs a tensor's contents, "
        "a division by zero, a condition that is not known before the model runs.",
        model(INPUT, "y = foo(x)", "output y"),
        model(INPUT, "y = abs(x) * 2", "output y"),
    ),
    Code(
        "E500",
        "shape inference failed",
        "A layer's static shape rule failed on its inputs in a way it does not describe. This "
        "points at a gap in tfspec's layer catalog rather than at the spec; please report it "
        "with the spec.",
        "(no example: a spec that gets here is a bug report)",
        "(check the layer's arguments against the Keras documentation)",
        check=None,
    ),
    Code(
        "E501",
        "shape mismatch",
        "A layer cannot take the shape of its input(s): Conv2D on a flat vector, Add on tensors of "
        "different shapes, a Reshape that changes the number of values, ...",
        model(INPUT, "x -> Conv2D(8, 3) -> y", "output y"),
        model("input x: float32[8, 8, 1]", "x -> Conv2D(8, 3) -> y", "output y"),
    ),
    Code(
        "E502",
        "shared layer on different shapes",
        "A layer applied more than once shares its weights, so every application needs the same input shape.",
        model(
            "input a: float32[4]",
            "input b: float32[3]",
            "layer d = Dense(2)",
            "a -> d -> y",
            "b -> d -> z",
            "output y, z",
        ),
        model(
            "input a: float32[4]",
            "input b: float32[4]",
            "layer d = Dense(2)",
            "a -> d -> y",
            "b -> d -> z",
            "output y, z",
        ),
    ),
    Code(
        "E503",
        "too large for TensorFlow",
        "A dimension of 2**31 or more, or a tensor or weight holding more than 2**31-1 values per "
        "sample, cannot be indexed with 32-bit integers, as TensorFlow's GPU kernels and many of its "
        "ops do (and such a tensor is 8 GiB of float32 for one sample). The error names the layer, "
        "the tensor and its size.",
        model(INPUT, "x -> Dense(1000000000) -> y", "output y"),
        model(INPUT, "x -> Dense(1000) -> y", "output y"),
    ),
    Code(
        "E504",
        "wrong dtype",
        "A layer or operation gets a tensor of a dtype it cannot take: a string tensor (`input t: "
        "string[]`) into Dense, Conv, Embedding, Normalization or arithmetic, which compute with "
        "numbers; or a number tensor into a layer that takes strings (StringLookup, TextVectorization). "
        "Map strings to numbers first with StringLookup (categories), TextVectorization (text) or "
        "Hashing; `tfspec explain LAYER` says what each takes.",
        model("input t: string[1]", "t -> Dense(4) -> y", "output y"),
        model(
            "input t: string[1]",
            't -> StringLookup(vocabulary=["a", "b"], output_mode="one_hot") -> Dense(4) -> y',
            "output y",
        ),
    ),
    Code(
        "E505",
        "size learnt from the data",
        "An encoding's output size would be the size of a vocabulary the layer learns from the "
        "training data (StringLookup, IntegerLookup or TextVectorization with output_mode one_hot, "
        "multi_hot, count or tf_idf and no vocabulary), but the layers after it need the size when "
        "the model is checked and built. Give max_tokens=N with pad_to_max_tokens=True (N entries "
        "whatever is learnt), or the vocabulary as a list.",
        model("input t: string[1]", 't -> StringLookup(output_mode="one_hot") -> Dense(4) -> y', "output y"),
        model(
            "input t: string[1]",
            't -> StringLookup(max_tokens=100, pad_to_max_tokens=True, output_mode="one_hot")',
            "  -> Dense(4)",
            "  -> y",
            "output y",
        ),
    ),
    Code(
        "E601",
        "unknown optimizer, loss, metric, callback or data source",
        "The train section names an object tfspec does not know; the hint suggests the closest known one.",
        model(INPUT, "x -> Dense(10) -> y", "output y", train="    optimizer = Adamm()\n    loss      = mse\n"),
        model(INPUT, "x -> Dense(10) -> y", "output y", train="    optimizer = Adam()\n    loss      = mse\n"),
    ),
    Code(
        "E602",
        "loss does not fit the outputs",
        "The train section has no loss, or its per-output losses, loss weights or metrics do not "
        "match the model's outputs, or a loss cannot work with the output it is given: a sparse or "
        "categorical cross-entropy on one unit (it needs one unit per class), from_logits=True on an "
        "output that already applies softmax or sigmoid, a cross-entropy without from_logits on a "
        "linear output, or softmax over a single unit (always 1.0).",
        model(INPUT, "x -> Dense(10) -> y", "output y", train="    epochs = 3\n"),
        model(INPUT, "x -> Dense(10) -> y", "output y", train=TRAIN_OK),
    ),
    Code(
        "E603",
        "a path the run writes is not inside the run folder",
        "ModelCheckpoint's filepath, TensorBoard's log_dir and CSVLogger's filename are written inside "
        "the run folder (runs/<model>/ or --out), so they must be relative paths that stay there: not "
        "empty, not absolute, no '..'. ModelCheckpoint's filepath may hold {epoch} and logged names "
        "with a number format ({val_loss:.3f}), and ends in .keras (.weights.h5 with "
        "save_weights_only=True). When training, a symbolic link leading out of the run folder is "
        "refused too.",
        model(
            INPUT,
            "x -> Dense(10) -> y",
            "output y",
            train='    loss      = mse\n    callbacks = [CSVLogger("../log.csv")]\n',
        ),
        model(
            INPUT,
            "x -> Dense(10) -> y",
            "output y",
            train='    loss      = mse\n    callbacks = [CSVLogger("log.csv")]\n',
        ),
    ),
    Code(
        "E604",
        "a metric does not fit the loss or the output",
        "The metric cannot mean anything for this output: accuracy of a regression (a loss such as "
        "mse or mae), a top-k accuracy whose k is not less than the number of classes (always 1.0), "
        "a class_id beyond the output's units, or a metric that reads labels in another form than "
        "the loss makes them (a sparse loss's labels are class ids, which AUC, Precision or "
        "CategoricalAccuracy cannot compare with a softmax output; the Sparse metrics read class ids "
        "and refuse one value per unit).",
        model(INPUT, "x -> Dense(1) -> y", "output y", train="    loss    = mse\n    metrics = [accuracy]\n"),
        model(INPUT, "x -> Dense(1) -> y", "output y", train="    loss    = mse\n    metrics = [mae]\n"),
    ),
    Code(
        "E605",
        "a callback watches a value that is never logged",
        "EarlyStopping, ReduceLROnPlateau and ModelCheckpoint(save_best_only=True) watch one logged "
        "value (`monitor`), and a ModelCheckpoint file-name template may name logged values. Each "
        "epoch logs loss, the per-output losses (several outputs), each metric under its name "
        "(<output>_<name> with several outputs), lr, and with validation the same names prefixed "
        "val_. The default monitor, val_loss, needs a validation setting.",
        model(
            INPUT,
            "x -> Dense(1) -> y",
            "output y",
            train="    loss      = mse\n    callbacks = [EarlyStopping(patience=2)]\n",
        ),
        model(
            INPUT,
            "x -> Dense(1) -> y",
            "output y",
            train="    loss       = mse\n    validation = 0.2\n    callbacks  = [EarlyStopping(patience=2)]\n",
        ),
    ),
    Code(
        "E606",
        "a callback cannot work with the optimizer",
        "ReduceLROnPlateau and LearningRateScheduler set the optimizer's learning rate each epoch, "
        "which an optimizer whose learning_rate is a schedule (ExponentialDecay(...)) does not have: "
        "use one or the other.",
        model(
            INPUT,
            "x -> Dense(1) -> y",
            "output y",
            train="    optimizer = SGD(learning_rate=ExponentialDecay(0.1, 100, 0.9))\n    loss      = mse\n"
            '    callbacks = [LearningRateScheduler(schedule="step")]\n',
        ),
        model(
            INPUT,
            "x -> Dense(1) -> y",
            "output y",
            train="    optimizer = SGD(learning_rate=0.1)\n    loss      = mse\n"
            '    callbacks = [LearningRateScheduler(schedule="step")]\n',
        ),
    ),
    Code(
        "E607",
        "a layer that learns from data does not take a model input",
        "Normalization without mean/variance, Discretization without bin_boundaries, and StringLookup, "
        "IntegerLookup and TextVectorization without a vocabulary learn their state from the training "
        "data: before the first step the runtime adapts each on the training split of the model input it "
        "takes. So such a layer must take a model input directly, in the model (not inside a block); "
        "a layer shared by several inputs adapts on all of them, which need one shape. Give the layer "
        "its state in the spec to use it anywhere.",
        model(INPUT, "x -> Dense(8) -> Normalization() -> y", "output y", train=TRAIN_OK),
        model(INPUT, "x -> Normalization() -> Dense(8) -> y", "output y", train=TRAIN_OK),
    ),
    Code(
        "E608",
        "a CSV file's columns do not fit the model's inputs",
        "A model with one input takes every feature column of a CSV file (all but the label columns, "
        "or features=). A model with several inputs takes one column per input, by name: input `island` "
        "reads the column `island`, as numbers or, for an input declared as a string, as text. `check` "
        "reads the file's header row when the file is there (else what features= says), and names the "
        "first input without its column.",
        model(
            "input a: float32[1]",
            "input b: float32[1]",
            "[a, b] -> Concatenate() -> Dense(1) -> y",
            "output y",
            train='    loss = mse\n    data = csv("data.csv", label="y", features=["a"])\n',
        ),
        model(
            "input a: float32[1]",
            "input b: float32[1]",
            "[a, b] -> Concatenate() -> Dense(1) -> y",
            "output y",
            train='    loss = mse\n    data = csv("data.csv", label="y", features=["a", "b"])\n',
        ),
    ),
    Code(
        "E701",
        "cannot be a Sequential model",
        "keras.Sequential holds one chain: one input, one output, each layer applied once to the "
        "result of the one before. Generate the functional or subclassing style instead, or make "
        "the model a single chain.",
        model("input a: float32[4]", "input b: float32[4]", "[a, b] -> Add() -> y", "output y"),
        model("input a: float32[4]", "a -> Dense(4) -> y", "output y"),
        check="sequential",
    ),
    Code(
        "E702",
        "a block instance is shared in the functional style",
        "The functional style writes a block as a helper function that makes new layers on each "
        "call, so one block instance cannot be applied twice. Use the subclassing style, or "
        "create one instance per use.",
        "block B(n) {\n    input x\n    x -> Dense(n) -> y\n    output y\n}\n\n"
        + model(INPUT, "layer b = B(4)", "x -> b -> h", "h -> b -> y", "output y"),
        "block B(n) {\n    input x\n    x -> Dense(n) -> y\n    output y\n}\n\n"
        + model(INPUT, "x -> B(4) -> h", "h -> B(4) -> y", "output y"),
        check="functional",
    ),
    Code(
        "E703",
        "a body reads a shape build() does not know",
        "The subclassing style makes the layers of a body that computes values from shapes in "
        "build(), where only the inputs' shapes are known. Compute the value from an input's shape, "
        "or use the functional style.",
        "block B() {\n    input x\n    x -> Dense(4) -> h\n    n = h.shape[-1]\n    h -> Dense(n) -> y\n"
        "    output y\n}\n\n" + model(INPUT, "x -> B() -> y", "output y"),
        "block B() {\n    input x\n    n = x.shape[-1]\n    x -> Dense(n) -> y\n    output y\n}\n\n"
        + model(INPUT, "x -> B() -> y", "output y"),
        check="subclassing",
    ),
    Code(
        "E704",
        "a layer Keras cannot build in a subclassed model",
        "Keras builds a subclassed model by calling it on symbolic inputs. A Discretization that learns "
        "its bins from the data refuses to run before it has learnt them. A Normalization turns its "
        "mean and variance into constant tensors when it is built, so the subclassing style builds it "
        "where it makes it, with its input's shape; it cannot inside a block that computes values from "
        "shapes (its layers are made in build(), inside the graph Keras traces), nor in a block whose "
        "instances give it inputs of different ranks. Use the functional or sequential style, give "
        "Discretization its bin_boundaries, or apply the Normalization outside the block.",
        model(INPUT, "x -> Discretization(num_bins=4) -> y", "output y"),
        model(INPUT, "x -> Discretization(bin_boundaries=[0.0, 1.0]) -> y", "output y"),
        check="subclassing",
    ),
    Code(
        "E705",
        "a masked hypermodel repeats a layer that drops the mask",
        "A model whose tensors carry a padding mask (an Embedding with mask_zero=True, a Masking layer) "
        "passes the masks from layer to layer. When the hypermodel of a search spec is printed in a style "
        "that carries the masks in variables, a layer repeated by a hyperparameter (`* depth`) is applied "
        "in a loop, each round reading the mask the round before left; a layer that drops its input's "
        "mask (a Conv1D) cannot be repeated that way. Repeat the layers before it, or drop the padding "
        "mask. (An `if` whose branches give a tensor different masks is E706.)",
        masked_repeat("Embedding(50, 8, mask_zero=True)"),
        masked_repeat("Embedding(50, 8)"),
        check="subclassing",
    ),
    Code(
        "E706",
        "an `if` whose branches give a tensor different padding masks",
        "A block's `if` branches are printed as Python `if`s, and in a style that carries the padding "
        "masks in variables (subclassing always; functional once a MultiHeadAttention takes a masked "
        "tensor) the code after them reads one mask variable per tensor. When one branch makes a new "
        "mask for a tensor (a Masking or an Embedding with mask_zero=True) and the other keeps or drops "
        "the input's, no one variable is right for both. Apply the layer that makes the mask outside "
        "the `if`, give both branches layers that treat the mask alike, or use the functional style.",
        masked_branches("x -> Masking() -> y", "x -> Dense(4) -> y"),
        masked_branches("x -> Dense(4) -> y", "x -> LayerNormalization() -> y"),
        check="subclassing",
    ),
    Code(
        "E801",
        "a search space that is not one",
        "Each name of a `search { ... }` section is a hyperparameter: `choice(...)` of distinct "
        "constants of one type (all numbers, all strings or all booleans; at most 64), `int(low, high)` with "
        "whole ends, `float(low, high)`, or `boolean()`. A range's low end is below its high end; "
        "`log=true` needs a low end above 0 and makes `step` a factor above 1; `step` is positive "
        "(whole for int); `default` is a value the space can take; no other keyword is taken.",
        "search {\n    rate = float(0.5, 0.1)\n}\n\n" + model(INPUT, "x -> Dropout(rate) -> y", "output y"),
        "search {\n    rate = float(0.1, 0.5)\n}\n\n" + model(INPUT, "x -> Dropout(rate) -> y", "output y"),
    ),
    Code(
        "E802",
        "a hyperparameter name misused",
        "A hyperparameter's name means it wherever the model, a block argument, a repetition count "
        "(`-> Dense(64) * depth`) or the train section uses it, so the model cannot give that name "
        "to a tensor or layer as well, and a hyperparameter nothing uses is a mistake. A repetition "
        "count written as a name must be a hyperparameter; inside a block's body it cannot be one "
        "(a block sees hyperparameters only through its parameters).",
        "search {\n    layers = int(1, 3)\n}\n\n" + model(INPUT, "x -> Dense(4) * depth -> y", "output y"),
        "search {\n    depth = int(1, 3)\n}\n\n" + model(INPUT, "x -> Dense(4) * depth -> y", "output y"),
    ),
    # `tfspec import` reads Keras model files, not specs: its examples are commands.
    Code(
        "E901",
        "the model file cannot be imported",
        "`tfspec import` cannot read the file as a Keras model: it is missing, a folder, a legacy "
        "HDF5 file, a damaged .keras archive, or JSON that is not a model config.",
        "$ tfspec import model.h5",
        "# in Python: model.save('model.keras'); then\n$ tfspec import model.keras",
        check=None,
    ),
    Code(
        "E902",
        "a layer or model class that cannot be imported",
        "The model holds a subclassed model, a Lambda layer, a custom layer class or a Keras layer "
        "that is not in tfspec's layer catalog; a spec cannot express its Python code.",
        "$ tfspec import with_lambda.keras     # keras.layers.Lambda(lambda t: t * 2)",
        "$ tfspec import with_rescaling.keras  # keras.layers.Rescaling(2.0)",
        check=None,
    ),
    Code(
        "E903",
        "an argument or call that cannot be expressed",
        "A layer is called with something other than input tensors (a constant, a keyword such "
        "as mask=...), or an input is sparse, ragged or has an impossible shape.",
        "$ tfspec import masked.keras     # layer(x, mask=m)",
        "$ tfspec import unmasked.keras   # layer(x)",
        check=None,
    ),
    Code(
        "E904",
        "a graph structure that cannot be expressed",
        "The model's graph has a shape a spec cannot write: a Sequential model that was never "
        "built (no input shape) or has no layers, an input layer that is not a model input, a "
        "layer applied to no tensor, ...",
        "$ tfspec import unbuilt.keras    # keras.Sequential([keras.layers.Dense(10)])",
        "$ tfspec import built.keras      # keras.Sequential([keras.Input((4,)), keras.layers.Dense(10)])",
        check=None,
    ),
    Code(
        "E905",
        "the weights cannot be carried over",
        "`tfspec import --weights` needs a .keras archive (a JSON config from model.to_json() holds "
        "the architecture only), and the weights must load into the model of every style the spec "
        "allows, layer for layer.",
        "$ tfspec import model.json -o model.tfs --weights",
        "# in Python: model.save('model.keras'); then\n$ tfspec import model.keras -o model.tfs --weights",
        check=None,
    ),
]

TABLE = {entry.code: entry for entry in CODES}


def lookup(code: str) -> Code | None:
    """The entry for `code` ("E301", "e301" or "301"), or None."""
    code = code.strip().upper()
    if code.isdigit():
        code = "E" + code
    return TABLE.get(code)


def suggestions(code: str) -> list[str]:
    """Known codes close to an unknown one: the same group (E30x, else E3xx), else similar spellings."""
    code = code.strip().upper()
    if code.isdigit():
        code = "E" + code
    for size in (3, 2):
        group = [c for c in TABLE if len(code) >= size and c.startswith(code[:size])]
        if group:
            return group
    return difflib.get_close_matches(code, list(TABLE), n=4, cutoff=0.5)


def indented(text: str) -> str:
    return "\n".join(("    " + line).rstrip() for line in text.rstrip("\n").split("\n"))


def explain(entry: Code) -> str:
    return (
        f"{entry.code}: {entry.title}\n\n{textwrap.fill(entry.explanation, 88)}\n\n"
        f"Example:\n\n{indented(entry.bad)}\n\nFix:\n\n{indented(entry.fix)}\n"
    )


def listing() -> str:
    return "".join(f"{entry.code}  {entry.title}\n" for entry in CODES)


# -- the command ----------------------------------------------------------------------------------
def register(subparsers) -> None:
    p = subparsers.add_parser(
        "explain",
        help="explain a diagnostic code (E301), a layer or operation (LSTM, mean) or a train-section name "
        "(Adam, EarlyStopping); without one, list the codes",
    )
    p.add_argument("code", nargs="?", metavar="CODE|NAME")
    p.add_argument("--catalog", action="store_true", help="print the whole train catalog (Markdown)")
    p.set_defaults(run=run)


def run(args) -> int:
    from .check import train_catalog

    if args.catalog:
        sys.stdout.write(train_catalog.markdown())
        return 0
    if args.code is None:
        sys.stdout.write(listing())
        return 0
    entry = lookup(args.code)
    if entry is None:
        from .ir.explain import describe

        found = describe(args.code)
        if found is not None:
            sys.stdout.write(found)
            return 0
    if entry is None and train_catalog.find(args.code):
        sys.stdout.write("\n".join(train_catalog.describe(e) for e in train_catalog.find(args.code)))
        return 0
    if entry is None:
        from .diagnostics import clean

        close = suggestions(args.code)
        if args.code[:1].upper() == "E" and args.code[1:].isdigit():
            hint = f"; did you mean {', '.join(close)}?" if close else "; `tfspec explain` lists them all"
            print(f"tfspec: error: unknown error code {clean(args.code)!r}{hint}", file=sys.stderr)
            return 2
        names = [n for kind in train_catalog.KINDS for n in train_catalog.known_names(kind)]
        close = difflib.get_close_matches(args.code, names, n=3, cutoff=0.7)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `tfspec explain --catalog` lists the train names"
        print(
            f"tfspec: error: {clean(args.code)!r} is not an error code, a layer, an operation or a train-section name{hint}",
            file=sys.stderr,
        )
        return 2
    sys.stdout.write(explain(entry))
    return 0
