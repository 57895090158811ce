"""Checks of the `train { ... }` section, and its lowering to the runtime's TRAINING dict.

TRAINING is plain data (it is printed into generated modules) whose objects use Keras's
own serialised form, {"class_name": ..., "config": {...}}, so the runtime can hand
them to keras.optimizers.get / keras.losses.get / keras.metrics.get.
"""

from __future__ import annotations

from ..diagnostics import Collector, Span, did_you_mean
from ..ir.values import Call, Ref, show

OPTIMIZERS = {
    "Adam": ("learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad"),
    "AdamW": ("learning_rate", "weight_decay", "beta_1", "beta_2", "epsilon", "amsgrad"),
    "SGD": ("learning_rate", "momentum", "nesterov"),
    "RMSprop": ("learning_rate", "rho", "momentum", "epsilon", "centered"),
    "Adagrad": ("learning_rate", "initial_accumulator_value", "epsilon"),
    "Adadelta": ("learning_rate", "rho", "epsilon"),
    "Adamax": ("learning_rate", "beta_1", "beta_2", "epsilon"),
    "Nadam": ("learning_rate", "beta_1", "beta_2", "epsilon"),
    "Ftrl": (
        "learning_rate",
        "learning_rate_power",
        "initial_accumulator_value",
        "l1_regularization_strength",
        "l2_regularization_strength",
    ),
    "Lion": ("learning_rate", "beta_1", "beta_2"),
}
OPTIMIZER_COMMON = (
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "ema_momentum",
    "gradient_accumulation_steps",
    "name",
)
SCHEDULES = {
    "ExponentialDecay": ("initial_learning_rate", "decay_steps", "decay_rate", "staircase"),
    "InverseTimeDecay": ("initial_learning_rate", "decay_steps", "decay_rate", "staircase"),
    "PolynomialDecay": ("initial_learning_rate", "decay_steps", "end_learning_rate", "power", "cycle"),
    "PiecewiseConstantDecay": ("boundaries", "values"),
    "CosineDecay": ("initial_learning_rate", "decay_steps", "alpha", "warmup_target", "warmup_steps"),
    "CosineDecayRestarts": ("initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha"),
}
LOSSES = {
    "SparseCategoricalCrossentropy": ("from_logits", "ignore_class"),
    "CategoricalCrossentropy": ("from_logits", "label_smoothing", "axis"),
    "BinaryCrossentropy": ("from_logits", "label_smoothing", "axis"),
    "BinaryFocalCrossentropy": ("apply_class_balancing", "alpha", "gamma", "from_logits", "label_smoothing"),
    "CategoricalFocalCrossentropy": ("alpha", "gamma", "from_logits", "label_smoothing"),
    "MeanSquaredError": (),
    "MeanAbsoluteError": (),
    "MeanAbsolutePercentageError": (),
    "MeanSquaredLogarithmicError": (),
    "Huber": ("delta",),
    "LogCosh": (),
    "Poisson": (),
    "KLDivergence": (),
    "Hinge": (),
    "SquaredHinge": (),
    "CategoricalHinge": (),
    "CosineSimilarity": ("axis",),
}
LOSS_ALIASES = {
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "binary_crossentropy": "BinaryCrossentropy",
    "binary_focal_crossentropy": "BinaryFocalCrossentropy",
    "mse": "MeanSquaredError",
    "mean_squared_error": "MeanSquaredError",
    "mae": "MeanAbsoluteError",
    "mean_absolute_error": "MeanAbsoluteError",
    "mape": "MeanAbsolutePercentageError",
    "msle": "MeanSquaredLogarithmicError",
    "huber": "Huber",
    "log_cosh": "LogCosh",
    "poisson": "Poisson",
    "kl_divergence": "KLDivergence",
    "hinge": "Hinge",
    "squared_hinge": "SquaredHinge",
    "categorical_hinge": "CategoricalHinge",
    "cosine_similarity": "CosineSimilarity",
}
METRICS = {
    "Accuracy": (),
    "BinaryAccuracy": ("threshold",),
    "CategoricalAccuracy": (),
    "SparseCategoricalAccuracy": (),
    "TopKCategoricalAccuracy": ("k",),
    "SparseTopKCategoricalAccuracy": ("k",),
    "AUC": ("num_thresholds", "curve", "multi_label", "from_logits"),
    "Precision": ("thresholds", "top_k", "class_id"),
    "Recall": ("thresholds", "top_k", "class_id"),
    "MeanAbsoluteError": (),
    "MeanSquaredError": (),
    "RootMeanSquaredError": (),
    "MeanAbsolutePercentageError": (),
    "BinaryCrossentropy": ("from_logits",),
    "CategoricalCrossentropy": ("from_logits",),
    "SparseCategoricalCrossentropy": ("from_logits",),
}
METRIC_COMMON = ("name",)
METRIC_ALIASES = (
    "accuracy",
    "acc",
    "mae",
    "mse",
    "auc",
    "precision",
    "recall",
    "rmse",
    "top_k_accuracy",
    "sparse_top_k_categorical_accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "mean_absolute_error",
    "mean_squared_error",
)
CALLBACKS = {
    "EarlyStopping": (
        "monitor",
        "min_delta",
        "patience",
        "mode",
        "restore_best_weights",
        "start_from_epoch",
        "baseline",
    ),
    # the arguments tfspec.runtime.callbacks takes (others would pass `check` and fail `train`)
    "ModelCheckpoint": ("filepath", "monitor", "mode", "save_best_only", "save_weights_only"),
    "ReduceLROnPlateau": ("monitor", "factor", "patience", "mode", "min_delta", "cooldown", "min_lr"),
    "LearningRateScheduler": (
        "schedule",
        "initial",
        "rate",
        "factor",
        "every",
        "epochs",
        "min_lr",
        "boundaries",
        "values",
    ),
    "TensorBoard": ("log_dir",),
    "CSVLogger": ("filename",),
}
# Callback arguments that name a path the run writes: relative, and inside the run folder (E603).
OUTPUT_PATHS = {"ModelCheckpoint": "filepath", "TensorBoard": "log_dir", "CSVLogger": "filename"}
DATASETS = {
    "digits": ("limit", "scale", "test_split"),
    "mnist": ("limit", "scale"),
    "fashion_mnist": ("limit", "scale"),
    "cifar10": ("limit", "scale"),
    "cifar100": ("limit", "scale", "label_mode"),
    "npz": ("path", "x", "y", "limit", "scale", "test_split"),
    "csv": ("path", "label", "limit", "scale", "test_split"),
}
DEFAULT_PATHS = {"ModelCheckpoint": "best.keras", "TensorBoard": "logs", "CSVLogger": "history.csv"}
DATA_REQUIRED = {"npz": ("path",), "csv": ("path", "label")}


def plain(value):
    """IR value -> JSON-able data (tuples become lists)."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Ref):
        return value.name
    return value


class TrainingChecker:
    def __init__(self, settings: dict, spans: dict, path: str, errors: Collector, outputs: list, inputs: list):
        self.settings = settings
        self.spans = spans
        self.path = path
        self.errors = errors
        self.outputs = outputs
        self.inputs = inputs

    def span(self, where) -> Span:
        for cut in range(len(where), -1, -1):
            span = self.spans.get(tuple(where[:cut]))
            if span is not None:
                return span
        return Span(self.path, 1, 1)

    def error(self, code, message, where, hint=None):
        self.errors.error(code, message, self.span(where), hint)

    def value(self, key):
        from ..ir.values import from_json

        if key not in self.settings:
            return None
        return from_json(self.settings[key], self.spans, ("train", key))

    # -- objects ---------------------------------------------------------------
    def obj(self, value, where, kind: str, table: dict, aliases=(), common=(), nested=None):
        """A Keras object given as `Name(...)`, a bare name or a string -> {"class_name", "config"}."""
        if isinstance(value, (Ref, str)):
            name = value.name if isinstance(value, Ref) else value
            if name in table or name in aliases:
                return {"class_name": aliases.get(name, name) if isinstance(aliases, dict) else name, "config": {}}
            self.error(
                "E601",
                f"unknown {kind} {name!r}",
                where,
                did_you_mean(name, list(table) + list(aliases)) or f"known: {', '.join(sorted(table))}",
            )
            return None
        if not isinstance(value, Call):
            self.error("E202", f"expected a {kind}, got {show(value)}", where)
            return None
        if value.name not in table:
            self.error(
                "E601",
                f"unknown {kind} {value.name!r}",
                where,
                did_you_mean(value.name, list(table)) or f"known: {', '.join(sorted(table))}",
            )
            return None
        allowed = table[value.name] + tuple(common)
        config = {}
        if len(value.args) > len(table[value.name]):
            self.error("E406", f"{value.name} takes at most {len(table[value.name])} positional arguments", where)
        for name, arg in zip(table[value.name], value.args):
            config[name] = arg
        for key, arg in value.kwargs:
            if key not in allowed:
                self.error(
                    "E402",
                    f"{value.name} has no argument {key!r}",
                    where,
                    did_you_mean(key, allowed) or f"its arguments: {', '.join(allowed) or 'none'}",
                )
            config[key] = arg
        for key, arg in list(config.items()):
            if nested and isinstance(arg, Call):
                config[key] = nested(arg, where)
            elif isinstance(arg, (Call, Ref)):
                self.error("E202", f"{value.name}: {key} must be a literal value, got {show(arg)}", where)
            else:
                config[key] = plain(arg)
        return {"class_name": value.name, "config": config}

    def schedule(self, value, where):
        return self.obj(value, where, "learning-rate schedule", SCHEDULES)

    # -- the TRAINING dict -------------------------------------------------------
    def training(self) -> dict:
        s = self.settings
        optimizer = self.value("optimizer")
        opt = {"class_name": "Adam", "config": {}}
        if optimizer is not None:
            aliases = {k.lower(): k for k in OPTIMIZERS}
            opt = (
                self.obj(
                    optimizer,
                    ("train", "optimizer"),
                    "optimizer",
                    OPTIMIZERS,
                    aliases,
                    OPTIMIZER_COMMON,
                    nested=self.schedule,
                )
                or opt
            )
        loss = self.losses()
        out = {
            "optimizer": opt,
            "loss": loss,
            "loss_weights": self.loss_weights(),
            "metrics": self.metrics(),
            "epochs": s.get("epochs", 5),
            "batch_size": s.get("batch", s.get("batch_size", 32)),
            "validation_split": None,
            "validation_data": None,
            "callbacks": [],
            "data": None,
            "seed": s.get("seed"),
            "distribute": self.symbol("distribute"),
            "precision": self.symbol("precision"),
            "steps_per_call": s.get("steps_per_call", 25),
            "jit_compile": s.get("jit_compile", False),
            "deterministic": s.get("deterministic", False),
            "inputs": [
                {"name": i.name, "shape": list(i.shape) if i.shape else i.shape, "dtype": i.dtype} for i in self.inputs
            ],
            "outputs": list(self.outputs),
        }
        if "batch" in s and "batch_size" in s:
            self.error("E302", "give either batch or batch_size, not both", ("train", "batch_size", "@name"))
        validation = self.value("validation")
        if isinstance(validation, (int, float)) and not isinstance(validation, bool):
            out["validation_split"] = validation
        elif validation is not None:
            out["validation_data"] = self.data(validation, ("train", "validation"))
        for i, cb in enumerate(self.value("callbacks") or []):
            entry = self.obj(cb, ("train", "callbacks", i), "callback", CALLBACKS)
            if entry:
                self.output_path(entry, ("train", "callbacks", i))
                out["callbacks"].append(entry)
        data = self.value("data")
        if data is not None:
            out["data"] = self.data(data, ("train", "data"))
        if out["distribute"] == "none":
            out["distribute"] = None
        if out["precision"] == "float32":
            out["precision"] = None
        return out

    def output_path(self, entry, where):
        """E603 for a callback path that could write outside the run folder (or, for ModelCheckpoint,
        that the runtime would refuse). Symbolic links are the runtime's to check: it knows the folder."""
        from ..files import path_problem, template_problem

        name = entry["class_name"]
        key = OUTPUT_PATHS.get(name)
        if key is None or key not in entry["config"]:
            return
        path = entry["config"][key]
        at = where + ("kwargs", key)
        if at not in self.spans and key in CALLBACKS[name]:
            at = where + ("args", CALLBACKS[name].index(key))
        hint = f'give a path relative to the run folder, e.g. {name}({key}="{DEFAULT_PATHS[name]}")'
        problem = path_problem(path, callback=True)
        if problem is None and name == "ModelCheckpoint":
            problem = template_problem(path)
            weights_only = bool(entry["config"].get("save_weights_only"))  # as the runtime reads it
            suffix = ".weights.h5" if weights_only else ".keras"
            if problem is None and not path.endswith(suffix):
                problem = f"must end in {suffix}" + (" (with save_weights_only=True)" if weights_only else "")
                hint = "a whole model is saved as .keras; save_weights_only=True saves .weights.h5"
        if problem is not None:
            self.error("E603", f"{name}: {key} {show(path)} {problem}", at, hint)

    def symbol(self, key):
        v = self.value(key)
        return v.name if isinstance(v, Ref) else v

    def losses(self):
        value = self.value("loss")
        where = ("train", "loss")
        if value is None:
            self.errors.error(
                "E602",
                "the train section needs a loss",
                self.span(("train",)),
                "e.g. loss = SparseCategoricalCrossentropy()",
            )
            return None
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                at = where + ("dict", key)
                if key not in self.outputs:
                    self.errors.error(
                        "E602",
                        f"loss for {key!r}, which is not an output of the model",
                        self.spans.get(at + ("@name",)) or self.span(at),
                        did_you_mean(key, self.outputs) or f"outputs: {', '.join(self.outputs)}",
                    )
                    continue
                out[key] = self.obj(item, at, "loss", LOSSES, LOSS_ALIASES)
            for name in self.outputs:
                if name not in value:
                    self.error("E602", f"no loss for output {name!r}", where, "give every output a loss")
            return out
        return self.obj(value, where, "loss", LOSSES, LOSS_ALIASES)

    def loss_weights(self):
        value = self.value("loss_weights")
        if value is None:
            return None
        where = ("train", "loss_weights")
        if isinstance(value, list):
            if len(value) != len(self.outputs):
                self.error("E602", f"{len(value)} loss weights for {len(self.outputs)} outputs", where)
            return dict(zip(self.outputs, value))
        for key in value:
            if key not in self.outputs:
                self.errors.error(
                    "E602",
                    f"loss weight for {key!r}, which is not an output of the model",
                    self.spans.get(where + ("dict", key, "@name")) or self.span(where),
                    did_you_mean(key, self.outputs),
                )
        return dict(value)

    def metrics(self):
        value = self.value("metrics")
        where = ("train", "metrics")
        if value is None:
            return []
        if isinstance(value, dict):
            out = {}
            for key, items in value.items():
                at = where + ("dict", key)
                if key not in self.outputs:
                    self.errors.error(
                        "E602",
                        f"metrics for {key!r}, which is not an output of the model",
                        self.spans.get(at + ("@name",)) or self.span(at),
                        did_you_mean(key, self.outputs),
                    )
                    continue
                out[key] = [
                    m
                    for i, item in enumerate(items)
                    if (m := self.obj(item, at + (i,), "metric", METRICS, METRIC_ALIASES, METRIC_COMMON))
                ]
            return out
        return [
            m
            for i, item in enumerate(value)
            if (m := self.obj(item, where + (i,), "metric", METRICS, METRIC_ALIASES, METRIC_COMMON))
        ]

    def data(self, value, where):
        if isinstance(value, str):
            kind = "csv" if value.endswith(".csv") else "npz"
            return {"source": kind, "path": value}
        entry = self.obj(value, where, "data source", DATASETS)
        if entry is None:
            return None
        source = {"source": entry["class_name"], **entry["config"]}
        for key in DATA_REQUIRED.get(source["source"], ()):
            if key not in source:
                self.error(
                    "E403",
                    f"data source {source['source']} needs {key!r}",
                    where,
                    'e.g. csv("train.csv", label="target")' if source["source"] == "csv" else 'e.g. npz("train.npz")',
                )
        return source


def check_training(settings: dict, spans: dict, path: str, errors: Collector, model) -> dict:
    checker = TrainingChecker(
        settings, spans, path, errors, list(model.outputs) if model else [], list(model.inputs) if model else []
    )
    return checker.training()
