"""The one catalog of the train section: optimizers, schedules, losses, metrics, callbacks, data.

Like the layer catalog, each entry lists its arguments with a type (ranges included), a default
and whether it is required. `check` binds and judges a spec's calls with it
(tfspec.check.training), the runtime judges the TRAINING dict it is handed with it before making
Keras objects (`problems`, so that API users who skip `check` get the same one-line errors),
`tfspec explain Adam` and docs/train-catalog.md print it, and the JSON Schema takes the ranges of
the scalar settings from `SETTINGS`. tests/test_train_catalog.py walks every argument of every entry
with valid and invalid values: what `check` accepts, the runtime accepts.

No TensorFlow here: the compile path reads this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..ir.values import show
from .train_types import BOOL, ArgType, choice, either, integer, list_of, number, optional, run_path, text

REQUIRED = object()  # an argument without a default
INT32_MAX = 2**31 - 1
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _name_judge(v):
    if not isinstance(v, str):
        return f"expected a string, got {show(v)}"
    if not NAME_PATTERN.match(v) or len(v) > 64:
        return f"must be a name of letters, digits and _ (at most 64, not starting with a digit), got {show(v)}"
    return None


LOG_NAME = ArgType("a name (letters, digits, _)", _name_judge, ("acc_1",), ("a b", "", "1x", "a/b", 3))


@dataclass(frozen=True)
class Arg:
    name: str
    type: ArgType
    default: object = None
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Entry:
    kind: str  # optimizer | schedule | loss | metric | callback | data
    name: str
    args: tuple
    doc: str
    aliases: tuple = ()
    rules: tuple = field(default=(), compare=False)  # config -> (argument, message) or None
    plugin: str | None = None  # the plugin that contributed it (tfspec.plugins), None: Keras's

    @property
    def arg_names(self) -> tuple:
        return tuple(a.name for a in self.args)

    def arg(self, name) -> Arg | None:
        return next((a for a in self.args if a.name == name), None)


# -- shared argument types --------------------------------------------------------------------
LR = number(0, good=(1e-3, 0.1, 1, 0))  # 0 freezes the weights (evaluation-like runs)
PROB = number(0, 1)
BETA = number(0, 1, high_open=True, good=(0, 0.9))
EPS = number(0, low_open=True, good=(1e-7, 1))
NONNEG = number(0)
POSITIVE = number(0, low_open=True)
CLIP = optional(number(0, low_open=True))
STEPS = integer(1, INT32_MAX, good=(1, 1000))
MODE = choice("auto", "min", "max")
MONITOR = text(good=("loss", "val_loss"))
REDUCTION = choice("sum_over_batch_size", "mean", "mean_with_sample_weight", "sum")
AXIS = integer(good=(-1,))
THRESHOLDS = optional(either(number(0, 1), list_of(number(0, 1)), good=(0.5, [0.3, 0.7])))
CLASS_ID = optional(integer(0, INT32_MAX, good=(0, 1)))
PATH = text(good=("data.npz",))
ARRAY_NAMES = either(text(good=("x",)), list_of(text(good=("x",))), good=("x",))
COLUMNS = either(text(good=("label",)), list_of(text(good=("label",))), good=("label",))


def _only_one_clip(config):
    given = [k for k in ("clipnorm", "clipvalue", "global_clipnorm") if config.get(k) is not None]
    if len(given) > 1:
        return given[1], f"give only one of clipnorm, clipvalue and global_clipnorm (got {', '.join(given)})"
    return None


OPTIMIZER_COMMON = (
    Arg("weight_decay", optional(NONNEG), None, "decoupled weight decay per step"),
    Arg("clipnorm", CLIP, None, "clip each gradient to this norm"),
    Arg("clipvalue", CLIP, None, "clip each gradient value to ±this"),
    Arg("global_clipnorm", CLIP, None, "clip all gradients together to this norm"),
    Arg("use_ema", BOOL, False, "keep an exponential moving average of the weights"),
    Arg("ema_momentum", PROB, 0.99, "the average's momentum (with use_ema)"),
    Arg("ema_overwrite_frequency", optional(integer(1, INT32_MAX, good=(1, 100))), None, "steps between overwrites"),
    Arg("gradient_accumulation_steps", optional(integer(2, INT32_MAX, good=(2, 4))), None, "steps per update"),
    Arg("name", optional(LOG_NAME), None, "the optimizer's name"),
)


def _optimizer(name, doc, *args, lr=1e-3, rules=()):
    own = (Arg("learning_rate", LR, lr, "a number ≥ 0 or a learning-rate schedule"),) + args
    common = tuple(a for a in OPTIMIZER_COMMON if a.name not in {x.name for x in own})
    return Entry("optimizer", name, own + common, doc, (name.lower(),), (_only_one_clip, *rules))


BETA_1 = Arg("beta_1", BETA, 0.9, "decay of the first moment")
BETA_2 = Arg("beta_2", BETA, 0.999, "decay of the second moment")
EPSILON = Arg("epsilon", EPS, 1e-7, "added to the denominator for stability")
OPTIMIZERS = (
    _optimizer("Adam", "Adam: adaptive moment estimation.", BETA_1, BETA_2, EPSILON, Arg("amsgrad", BOOL, False)),
    _optimizer(
        "AdamW",
        "Adam with decoupled weight decay.",
        Arg("weight_decay", NONNEG, 0.004, "decoupled weight decay per step"),
        BETA_1,
        BETA_2,
        EPSILON,
        Arg("amsgrad", BOOL, False),
    ),
    _optimizer(
        "SGD",
        "Stochastic gradient descent, with optional (Nesterov) momentum.",
        Arg("momentum", PROB, 0.0, "momentum in [0, 1]"),
        Arg("nesterov", BOOL, False),
        lr=0.01,
    ),
    _optimizer(
        "RMSprop",
        "RMSprop: divides by a moving average of squared gradients.",
        Arg("rho", BETA, 0.9, "decay of the squared-gradient average"),
        Arg("momentum", PROB, 0.0),
        EPSILON,
        Arg("centered", BOOL, False),
    ),
    _optimizer(
        "Adagrad",
        "Adagrad: per-parameter rates from accumulated squared gradients.",
        Arg("initial_accumulator_value", NONNEG, 0.1),
        EPSILON,
    ),
    _optimizer("Adadelta", "Adadelta.", Arg("rho", BETA, 0.95), EPSILON),
    _optimizer("Adamax", "Adamax: Adam with the infinity norm.", BETA_1, BETA_2, EPSILON),
    _optimizer("Nadam", "Adam with Nesterov momentum.", BETA_1, BETA_2, EPSILON),
    _optimizer(
        "Ftrl",
        "FTRL-proximal.",
        Arg("learning_rate_power", number(None, 0, good=(-0.5, 0)), -0.5, "≤ 0"),
        Arg("initial_accumulator_value", NONNEG, 0.1),
        Arg("l1_regularization_strength", NONNEG, 0.0),
        Arg("l2_regularization_strength", NONNEG, 0.0),
        Arg("l2_shrinkage_regularization_strength", NONNEG, 0.0),
        Arg("beta", NONNEG, 0.0),
    ),
    _optimizer(
        "Lion",
        "Lion: sign-based updates.",
        Arg("beta_1", number(0, 1, low_open=True, good=(0.9, 1)), 0.9, "in (0, 1]"),
        Arg("beta_2", BETA, 0.99),
    ),
)


def _piecewise(config):
    boundaries, values = config.get("boundaries"), config.get("values")
    if isinstance(boundaries, (list, tuple)) and isinstance(values, (list, tuple)):
        if len(values) != len(boundaries) + 1:
            return (
                "values",
                f"needs one more value than boundaries ({len(boundaries)} boundaries, {len(values)} values)",
            )
    return None


INITIAL_LR = Arg("initial_learning_rate", LR, REQUIRED, "the learning rate at step 0")
DECAY_STEPS = Arg("decay_steps", STEPS, REQUIRED, "steps per decay period (≥ 1)")
SCHEDULES = (
    Entry(
        "schedule",
        "ExponentialDecay",
        (INITIAL_LR, DECAY_STEPS, Arg("decay_rate", POSITIVE, REQUIRED), Arg("staircase", BOOL, False)),
        "lr = initial * decay_rate ^ (step / decay_steps).",
    ),
    Entry(
        "schedule",
        "InverseTimeDecay",
        (INITIAL_LR, DECAY_STEPS, Arg("decay_rate", NONNEG, REQUIRED), Arg("staircase", BOOL, False)),
        "lr = initial / (1 + decay_rate * step / decay_steps).",
    ),
    Entry(
        "schedule",
        "PolynomialDecay",
        (
            INITIAL_LR,
            DECAY_STEPS,
            Arg("end_learning_rate", NONNEG, 1e-4),
            Arg("power", POSITIVE, 1.0),
            Arg("cycle", BOOL, False),
        ),
        "A polynomial from the initial to the end learning rate over decay_steps.",
    ),
    Entry(
        "schedule",
        "PiecewiseConstantDecay",
        (
            Arg("boundaries", list_of(integer(0, INT32_MAX), increasing=True, good=([100],)), REQUIRED, "steps"),
            Arg("values", list_of(LR, good=([0.1, 0.01],)), REQUIRED, "one more than boundaries"),
        ),
        "A constant learning rate between step boundaries.",
        rules=(_piecewise,),
    ),
    Entry(
        "schedule",
        "CosineDecay",
        (
            INITIAL_LR,
            DECAY_STEPS,
            Arg("alpha", PROB, 0.0, "the final fraction of the initial rate"),
            Arg("warmup_target", optional(LR), None, "warm up to this rate first"),
            Arg("warmup_steps", integer(0, INT32_MAX), 0),
        ),
        "Cosine decay, with an optional linear warm-up.",
    ),
    Entry(
        "schedule",
        "CosineDecayRestarts",
        (
            INITIAL_LR,
            Arg("first_decay_steps", STEPS, REQUIRED),
            Arg("t_mul", number(1, good=(1, 2.0)), 2.0, "period growth per restart (≥ 1: below, the rate becomes NaN)"),
            Arg("m_mul", POSITIVE, 1.0, "rate factor per restart"),
            Arg("alpha", PROB, 0.0),
        ),
        "Cosine decay with warm restarts (SGDR).",
    ),
)

FROM_LOGITS = Arg("from_logits", BOOL, False, "the output is logits (no softmax/sigmoid applied)")
SMOOTHING = Arg("label_smoothing", PROB, 0.0)
LOSS_COMMON = (Arg("reduction", REDUCTION, "sum_over_batch_size"),)


def _loss(name, doc, *args, aliases=()):
    return Entry("loss", name, args + LOSS_COMMON, doc, aliases)


LOSSES = (
    _loss(
        "SparseCategoricalCrossentropy",
        "Cross-entropy with integer class labels (0 .. units-1).",
        FROM_LOGITS,
        Arg("ignore_class", optional(integer(good=(0, -1))), None, "a label value that is left out"),
        aliases=("sparse_categorical_crossentropy",),
    ),
    _loss(
        "CategoricalCrossentropy",
        "Cross-entropy with one-hot labels (integer labels are one-hot encoded for you).",
        FROM_LOGITS,
        SMOOTHING,
        Arg("axis", AXIS, -1),
        aliases=("categorical_crossentropy",),
    ),
    _loss(
        "BinaryCrossentropy",
        "Cross-entropy of 0/1 labels (one sigmoid unit, or several independent ones).",
        FROM_LOGITS,
        SMOOTHING,
        Arg("axis", AXIS, -1),
        aliases=("binary_crossentropy",),
    ),
    _loss(
        "BinaryFocalCrossentropy",
        "Focal loss for 0/1 labels.",
        Arg("apply_class_balancing", BOOL, False),
        Arg("alpha", PROB, 0.25),
        Arg("gamma", NONNEG, 2.0),
        FROM_LOGITS,
        SMOOTHING,
        aliases=("binary_focal_crossentropy",),
    ),
    _loss(
        "CategoricalFocalCrossentropy",
        "Focal loss for one-hot labels.",
        Arg("alpha", PROB, 0.25),
        Arg("gamma", NONNEG, 2.0),
        FROM_LOGITS,
        SMOOTHING,
        aliases=("categorical_focal_crossentropy",),
    ),
    _loss("MeanSquaredError", "Mean of squared errors.", aliases=("mse", "mean_squared_error")),
    _loss("MeanAbsoluteError", "Mean of absolute errors.", aliases=("mae", "mean_absolute_error")),
    _loss("MeanAbsolutePercentageError", "Mean absolute percentage error.", aliases=("mape",)),
    _loss("MeanSquaredLogarithmicError", "Mean squared logarithmic error.", aliases=("msle",)),
    _loss("Huber", "Huber loss: squared below delta, linear above.", Arg("delta", POSITIVE, 1.0), aliases=("huber",)),
    _loss("LogCosh", "log(cosh(error)).", aliases=("log_cosh",)),
    _loss("Poisson", "Poisson loss.", aliases=("poisson",)),
    _loss("KLDivergence", "Kullback-Leibler divergence of distributions.", aliases=("kl_divergence",)),
    _loss("Hinge", "Hinge loss of -1/1 (or 0/1) labels.", aliases=("hinge",)),
    _loss("SquaredHinge", "Squared hinge loss.", aliases=("squared_hinge",)),
    _loss("CategoricalHinge", "Hinge loss of one-hot labels.", aliases=("categorical_hinge",)),
    _loss("CosineSimilarity", "Negative cosine similarity.", Arg("axis", AXIS, -1), aliases=("cosine_similarity",)),
)

METRIC_NAME = Arg("name", LOG_NAME, None, "the name it is logged under")


def _metric(name, doc, *args, aliases=()):
    return Entry("metric", name, args + (METRIC_NAME,), doc, aliases)


METRICS = (
    _metric(
        "accuracy",
        "Binary, sparse or categorical accuracy, chosen from the output and the loss as Keras's compile does.",
        aliases=("acc",),
    ),
    _metric("Accuracy", "Exact equality of labels and outputs (for class ids use `accuracy`)."),
    _metric(
        "BinaryAccuracy",
        "0/1 labels against outputs above threshold.",
        Arg("threshold", number(0, 1, low_open=True, high_open=True, good=(0.5, 0.1)), 0.5),
        aliases=("binary_accuracy",),
    ),
    _metric("CategoricalAccuracy", "One-hot labels against the largest output.", aliases=("categorical_accuracy",)),
    _metric(
        "SparseCategoricalAccuracy",
        "Class ids against the largest output.",
        aliases=("sparse_categorical_accuracy",),
    ),
    _metric(
        "TopKCategoricalAccuracy",
        "One-hot labels among the k largest outputs.",
        Arg("k", integer(1, INT32_MAX, good=(1, 5)), 5, "≥ 1 and at most the output's units"),
        aliases=("top_k_categorical_accuracy", "top_k_accuracy"),
    ),
    _metric(
        "SparseTopKCategoricalAccuracy",
        "Class ids among the k largest outputs.",
        Arg("k", integer(1, INT32_MAX, good=(1, 5)), 5, "≥ 1 and at most the output's units"),
        aliases=("sparse_top_k_categorical_accuracy",),
    ),
    _metric(
        "AUC",
        "Area under the ROC or PR curve.",
        Arg("num_thresholds", integer(2, 100_000, good=(2, 200)), 200),
        Arg("curve", choice("ROC", "PR"), "ROC"),
        Arg("multi_label", BOOL, False),
        FROM_LOGITS,
        aliases=("auc",),
    ),
    _metric(
        "Precision",
        "Precision at a threshold (or of the top k, or of one class).",
        Arg("thresholds", THRESHOLDS, None),
        Arg("top_k", optional(integer(1, INT32_MAX, good=(1, 2))), None),
        Arg("class_id", CLASS_ID, None),
        aliases=("precision",),
    ),
    _metric(
        "Recall",
        "Recall at a threshold (or of the top k, or of one class).",
        Arg("thresholds", THRESHOLDS, None),
        Arg("top_k", optional(integer(1, INT32_MAX, good=(1, 2))), None),
        Arg("class_id", CLASS_ID, None),
        aliases=("recall",),
    ),
    _metric("MeanAbsoluteError", "Mean absolute error.", aliases=("mae", "mean_absolute_error")),
    _metric("MeanSquaredError", "Mean squared error.", aliases=("mse", "mean_squared_error")),
    _metric("RootMeanSquaredError", "Root mean squared error.", aliases=("rmse",)),
    _metric("MeanAbsolutePercentageError", "Mean absolute percentage error.", aliases=("mape",)),
    _metric("BinaryCrossentropy", "Binary cross-entropy as a metric.", FROM_LOGITS),
    _metric("CategoricalCrossentropy", "Categorical cross-entropy as a metric.", FROM_LOGITS),
    _metric("SparseCategoricalCrossentropy", "Sparse categorical cross-entropy as a metric.", FROM_LOGITS),
)

# LearningRateScheduler's named schedules and the parameters each takes (the formulas are in
# tfspec.runtime.callbacks.SCHEDULES; a test keeps the two in step).
EPOCH_SCHEDULES = {
    "exponential": ("rate",),
    "step": ("factor", "every"),
    "cosine": ("epochs", "min_lr"),
    "inverse_time": ("rate",),
    "piecewise": ("boundaries", "values"),
    "warmup": ("epochs",),
}


def _epoch_schedule(config):
    schedule = config.get("schedule", "exponential")
    if schedule not in EPOCH_SCHEDULES:
        return None  # the type already refused it
    takes = EPOCH_SCHEDULES[schedule]
    for key in ("rate", "factor", "every", "epochs", "min_lr", "boundaries", "values"):
        if key in config and key not in takes:
            return key, f"the {schedule!r} schedule takes {', '.join(takes)}, not {key}"
    if schedule == "piecewise":
        if "values" not in config:
            return "values", "the 'piecewise' schedule needs values (one learning rate per interval)"
        return _piecewise({"boundaries": config.get("boundaries", []), "values": config["values"]})
    return None


def _checkpoint_suffix(config):
    path = config.get("filepath")
    suffix = ".weights.h5" if config.get("save_weights_only") else ".keras"
    if isinstance(path, str) and not path.endswith(suffix):
        return "filepath", f"must end in {suffix}" + (" (with save_weights_only=True)" if suffix != ".keras" else "")
    return None


CALLBACKS = (
    Entry(
        "callback",
        "EarlyStopping",
        (
            Arg("monitor", MONITOR, "val_loss", "a logged name: loss, a metric, val_... with validation"),
            Arg("min_delta", NONNEG, 0.0),
            Arg("patience", integer(0, INT32_MAX), 0, "epochs without improvement before stopping"),
            Arg("mode", MODE, "auto"),
            Arg("baseline", optional(number(good=(0.5,))), None),
            Arg("restore_best_weights", BOOL, False),
            Arg("start_from_epoch", integer(0, INT32_MAX), 0),
        ),
        "Stop when the monitored value stops improving.",
    ),
    Entry(
        "callback",
        "ModelCheckpoint",
        (
            Arg(
                "filepath",
                run_path(good=("best.keras", "m-{epoch:03d}.keras"), template=True),
                None,
                "inside the run folder; may hold {epoch} and logs",
            ),
            Arg("monitor", MONITOR, "val_loss"),
            Arg("mode", MODE, "auto"),
            Arg("save_best_only", BOOL, False),
            Arg("save_weights_only", BOOL, False),
        ),
        "Save the model (.keras) or its weights (.weights.h5) each epoch, or when the monitored value improves.",
        rules=(_checkpoint_suffix,),
    ),
    Entry(
        "callback",
        "ReduceLROnPlateau",
        (
            Arg("monitor", MONITOR, "val_loss"),
            Arg("factor", number(0, 1, low_open=True, high_open=True, good=(0.1, 0.5)), 0.1, "in (0, 1)"),
            Arg("patience", integer(0, INT32_MAX), 10),
            Arg("mode", MODE, "auto"),
            Arg("min_delta", NONNEG, 1e-4),
            Arg("cooldown", integer(0, INT32_MAX), 0),
            Arg("min_lr", NONNEG, 0.0),
        ),
        "Multiply the learning rate by factor after patience epochs without improvement.",
    ),
    Entry(
        "callback",
        "LearningRateScheduler",
        (
            Arg("schedule", choice(*EPOCH_SCHEDULES), "exponential", "a named per-epoch schedule"),
            Arg("initial", optional(LR), None, "the epoch-0 rate (default: the optimizer's)"),
            Arg("rate", POSITIVE, None, "exponential: lr0*rate^e; inverse_time: lr0/(1+rate*e)"),
            Arg("factor", POSITIVE, None, "step: lr0*factor^(e // every)"),
            Arg("every", integer(1, INT32_MAX), None, "step: epochs per step"),
            Arg("epochs", integer(1, INT32_MAX), None, "cosine: epochs to the minimum; warmup: epochs of warm-up"),
            Arg("min_lr", NONNEG, None, "cosine: the final rate"),
            Arg("boundaries", list_of(integer(1, INT32_MAX), increasing=True, good=([2],)), None, "piecewise"),
            Arg("values", list_of(LR, good=([0.1, 0.01],)), None, "piecewise: one more than boundaries"),
        ),
        "Set the learning rate at the start of each epoch from a named schedule.",
        rules=(_epoch_schedule,),
    ),
    Entry(
        "callback",
        "TensorBoard",
        (Arg("log_dir", run_path(good=("logs", "tb/run")), "logs", "inside the run folder"),),
        "Write per-epoch scalars for TensorBoard.",
    ),
    Entry(
        "callback",
        "CSVLogger",
        (
            Arg("filename", run_path(good=("log.csv",)), "history.csv", "inside the run folder"),
            Arg("separator", text(good=(",", ";"), length=1), ","),
        ),
        "Write the history as CSV after each epoch.",
    ),
)

LIMIT = Arg("limit", integer(1, INT32_MAX, good=(1, 100)), None, "use only the first N samples")
SCALE = Arg("scale", number(0, low_open=True, good=(1, 0.5)), None, "multiply the inputs by this")
TEST_SPLIT = Arg("test_split", number(0, 1, high_open=True, good=(0, 0.2)), 0.2, "held out for the test metrics")
DATA = (
    Entry("data", "digits", (LIMIT, SCALE, TEST_SPLIT), "The 8x8 digits bundled with tfspec (1,797 images)."),
    Entry("data", "mnist", (LIMIT, SCALE), "keras.datasets.mnist, from the local Keras cache."),
    Entry("data", "fashion_mnist", (LIMIT, SCALE), "keras.datasets.fashion_mnist, from the local Keras cache."),
    Entry("data", "cifar10", (LIMIT, SCALE), "keras.datasets.cifar10, from the local Keras cache."),
    Entry(
        "data",
        "cifar100",
        (LIMIT, SCALE, Arg("label_mode", choice("fine", "coarse"), "fine")),
        "keras.datasets.cifar100, from the local Keras cache.",
    ),
    Entry(
        "data",
        "npz",
        (
            Arg("path", PATH, REQUIRED, "relative to the spec's folder"),
            Arg("x", ARRAY_NAMES, "x", "the input array(s)"),
            Arg("y", ARRAY_NAMES, "y", "the label array(s)"),
            LIMIT,
            SCALE,
            TEST_SPLIT,
        ),
        "Named arrays of a numpy .npz file (x/y, or x_train/y_train/x_test/y_test).",
    ),
    Entry(
        "data",
        "csv",
        (
            Arg("path", text(good=("data.csv",)), REQUIRED, "relative to the spec's folder"),
            Arg("label", COLUMNS, None, "the label column(s) (default: the last column)"),
            Arg("features", list_of(text(good=("a",))), None, "the input columns (default: all others)"),
            LIMIT,
            SCALE,
            TEST_SPLIT,
        ),
        "A UTF-8 CSV file with a header row. One model input takes every feature column; several take "
        "one column each, by name. A string input's column is read as text; text labels are class names.",
    ),
)

KINDS = {
    "optimizer": ("optimizer", OPTIMIZERS),
    "schedule": ("learning-rate schedule", SCHEDULES),
    "loss": ("loss", LOSSES),
    "metric": ("metric", METRICS),
    "callback": ("callback", CALLBACKS),
    "data": ("data source", DATA),
}
ENTRIES = {kind: {e.name: e for e in entries} for kind, (_, entries) in KINDS.items()}
ALIASES = {kind: {a: e.name for e in entries for a in e.aliases} for kind, (_, entries) in KINDS.items()}


def add_entry(entry: Entry) -> None:
    """Add a plugin's loss, metric or callback (tfspec.plugins has checked its name is free)."""
    ENTRIES[entry.kind][entry.name] = entry
    for alias in entry.aliases:
        ALIASES[entry.kind][alias] = entry.name


def lookup(kind: str, name: str) -> Entry | None:
    """The entry called `name`, or one of whose aliases is `name`."""
    table = ENTRIES[kind]
    if name in table:
        return table[name]
    target = ALIASES[kind].get(name)
    return table.get(target) if target else None


def known_names(kind: str) -> list:
    return list(ENTRIES[kind]) + list(ALIASES[kind])


def find(name: str) -> list:
    """Entries of any kind called `name` (for `tfspec explain NAME`)."""
    return [e for kind in KINDS if (e := lookup(kind, name)) is not None]


# -- judging a bound config (check and runtime alike) -------------------------------------------
def problems(entry: Entry, config: dict) -> list:
    """[(argument, kind, message)] for a config (argument -> plain value) of `entry`; kind is
    "unknown", "missing", "type", "range" or "rule" (a rule across arguments)."""
    out = []
    for key, value in config.items():
        arg = entry.arg(key)
        if arg is None:
            out.append((key, "unknown", f"{entry.name} has no argument {key!r}"))
            continue
        if value is None and arg.default is None:
            continue  # None is the default: nothing given
        if isinstance(value, dict) and entry.kind == "optimizer" and key == "learning_rate":
            schedule = lookup("schedule", str(value.get("class_name")))
            if schedule is None:
                out.append((key, "type", f"{entry.name}: learning_rate names an unknown schedule"))
            else:
                out += [(key, kind, message) for _, kind, message in problems(schedule, value.get("config") or {})]
            continue
        problem = arg.type.check(value)
        if problem:
            kind = arg.type.kind or ("type" if problem.startswith("expected ") else "range")
            if kind == "type":
                problem = "must be " + problem[len("expected ") :]
            out.append((key, kind, f"{entry.name}: {key} {problem}"))
    for arg in entry.args:
        if arg.required and arg.name not in config:
            out.append((arg.name, "missing", f"{entry.name} needs {arg.name!r}"))
    if not out:
        for rule in entry.rules:
            found = rule(config)
            if found:
                arg = entry.arg(found[0])
                kind = arg.type.kind or "rule" if arg is not None else "rule"
                out.append((found[0], kind, f"{entry.name}: {found[0]} {found[1]}"))
    return out


def plain_config(entry: Entry, config: dict) -> dict:
    """The config with each value as Keras takes it (ints of float arguments as floats)."""
    return {k: (entry.arg(k).type.plain(v) if entry.arg(k) else v) for k, v in config.items()}


def metric_log_name(spec: dict) -> str:
    """The name a metric is logged under (for one output; `<output>_<name>` with several):
    its `name`, else the alias as written (`accuracy`, `mae`), else the class in snake_case."""
    config = spec.get("config") or {}
    if config.get("name"):
        return config["name"]
    name = spec["class_name"]
    if name in ALIASES["metric"] or name == "accuracy":
        return name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def metric_labels(output_names, metrics) -> list:
    """[(output index, metric spec, label)]: each metric of each output and the name its value is
    logged under, "<metric>" or, with several outputs, "<output>_<metric>" (a clash with another
    label or with a loss gets "_1" appended). The runtime logs by these labels; `check` reads them
    to judge the names callbacks monitor."""
    per_output = metrics if isinstance(metrics, dict) else {name: metrics for name in output_names}
    out, seen = [], set()
    for index, name in enumerate(output_names):
        for spec in per_output.get(name) or []:
            base = metric_log_name(spec)
            label = base if len(output_names) == 1 else f"{name}_{base}"
            while label in seen or label == "loss" or label.endswith("_loss"):
                label += "_1"
            seen.add(label)
            out.append((index, spec, label))
    return out


# Metrics that read labels as class ids, the losses whose labels are class ids, and the metrics
# that compare one value per class (constant on a single unit).
SPARSE_METRICS = ("SparseCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "SparseCategoricalCrossentropy")
SPARSE_LOSSES = ("SparseCategoricalCrossentropy",)
PER_CLASS_METRICS = SPARSE_METRICS + ("CategoricalAccuracy", "TopKCategoricalAccuracy", "CategoricalCrossentropy")


def label_form_problem(metric: str, ids: bool, units: int, labels: str = "the labels"):
    """(problem, fix) when `metric` (an entry name) reads labels in another form than they have, for
    an output of `units` units: one value per unit against class ids (`ids`), or the reverse; else
    None. `check` asks it of the loss (tfspec.check.compat), the runtime of the real label arrays
    (tfspec.runtime.objects.make_metric): Keras fails while tracing, or compares the wrong things."""
    if metric == "accuracy":
        return None
    if metric in PER_CLASS_METRICS and units == 1:
        return "it needs one output unit per class, and the output has 1", "for a yes/no output use accuracy or AUC"
    if units > 1 and ids and metric not in SPARSE_METRICS:
        return (
            f"it compares labels of the output's shape ({units} values), but {labels} are class ids",
            "use accuracy, SparseTopKCategoricalAccuracy or SparseCategoricalCrossentropy",
        )
    if units > 1 and not ids and metric in SPARSE_METRICS:
        return (
            f"it reads class ids, but {labels} have the output's shape ({units} values)",
            "use accuracy, CategoricalAccuracy or TopKCategoricalAccuracy",
        )
    return None


# -- the scalar settings of the train section -----------------------------------------------------
SETTINGS = {
    "epochs": integer(1, 1_000_000, good=(1, 5)),
    "batch": integer(1, INT32_MAX, good=(1, 32)),
    "batch_size": integer(1, INT32_MAX, good=(1, 32)),
    "seed": integer(0, 2**32 - 1, good=(0, 7)),
    "steps_per_call": integer(1, 10_000, good=(1, 25)),
}
SETTING_DOCS = {
    "epochs": "passes over the training data",
    "batch": "samples per step (also batch_size)",
    "batch_size": "samples per step",
    "seed": "seeds the splits, the shuffling and the weights",
    "steps_per_call": "train steps per tf.function call",
}


def setting_problem(key: str, value) -> str | None:
    kind = SETTINGS.get(key)
    if kind is None:
        return None
    problem = kind.check(value)
    return f"{key} {problem}" if problem else None


# -- the catalog as text: `tfspec explain NAME` and docs/train-catalog.md ------------------------
def default_text(arg: Arg) -> str:
    if arg.required:
        return "required"
    return "—" if arg.default is None else show(arg.default)


def describe(entry: Entry) -> str:
    """An entry as Markdown: what it is, and a table of its arguments."""
    kind = KINDS[entry.kind][0]
    lines = [f"### {entry.name} ({kind})", "", entry.doc, ""]
    if entry.aliases:
        lines += ["Also written: " + ", ".join(f"`{a}`" for a in entry.aliases), ""]
    if entry.plugin is not None:
        from ..plugins import plugin_of

        lines += [f"From the plugin `{entry.plugin}` (class in `{plugin_of(entry.plugin).module}`).", ""]
    if entry.args:
        lines += ["| argument | type | default | |", "|---|---|---|---|"]
        for arg in entry.args:
            lines.append(f"| `{arg.name}` | {arg.type.name} | {default_text(arg)} | {arg.doc} |")
        lines.append("")
    return "\n".join(lines)


def markdown() -> str:
    """The whole catalog (docs/train-catalog.md is this text; a test keeps them equal)."""
    parts = [
        "# The train catalog",
        "",
        "Generated from `tfspec/check/train_catalog.py` (`tfspec explain --catalog`); do not edit.",
        "`tfspec check` accepts exactly these names and arguments, and the runtime accepts what `check` accepts.",
        "",
        "## Settings",
        "",
        "| setting | type | |",
        "|---|---|---|",
    ]
    parts += [f"| `{key}` | {kind.name} | {SETTING_DOCS[key]} |" for key, kind in SETTINGS.items()]
    parts.append("")
    for kind, (title, entries) in KINDS.items():
        parts += [f"## {title[:1].upper()}{title[1:]}s", ""]
        if kind == "metric":
            parts += [
                "`accuracy` (or `acc`) becomes binary, sparse or categorical accuracy from the output and loss.",
                "",
            ]
        parts += [describe(e) for e in entries]
    return "\n".join(parts).rstrip() + "\n"
