"""Checks of the `train { ... }` section, and its lowering to the runtime's TRAINING dict.

TRAINING is plain data (it is printed into generated modules) whose objects use Keras's
own serialised form, {"class_name": ..., "config": {...}}, so the runtime can hand
them to keras.optimizers.get / keras.losses.get / keras.metrics.get.
"""

from __future__ import annotations

from ..diagnostics import Collector, Span, did_you_mean
from ..ir.catalog import ShapeError
from ..ir.evaluate import fold
from ..ir.values import Call, Ref, show
from .adapting import check_adapting
from .compat import check_compat
from .data_columns import check_columns
from .train_catalog import ENTRIES, KINDS, known_names, lookup, plain_config, problems

# the diagnostic code of each kind of problem the catalog finds
CODES = {"unknown": "E402", "missing": "E403", "type": "E404", "range": "E405", "rule": "E405", "path": "E603"}


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
    def __init__(self, settings: dict, spans: dict, path: str, errors: Collector, model=None):
        self.model = model
        self.outputs = list(model.outputs) if model else []
        self.inputs = list(model.inputs) if model else []
        self.settings = settings
        self.spans = spans
        self.path = path
        self.errors = errors

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
        value = from_json(self.settings[key], self.spans, ("train", key))
        try:
            return fold(value)  # constant arithmetic: `scale = 1 / 255`, `epochs = 2 * 5`
        except ShapeError as exc:  # 1 / 0 and the like
            self.error(exc.code, exc.message, ("train", key), exc.hint)
            return value

    # -- objects ---------------------------------------------------------------
    def arg_span(self, where, entry, key):
        """Where argument `key` of the call at `where` is written (the call itself if not found)."""
        at = where + ("kwargs", key)
        if at not in self.spans and key in entry.arg_names:
            at = where + ("args", entry.arg_names.index(key))
        return at

    @staticmethod
    def unknown_hint(kind: str, name: str) -> str:
        hint = did_you_mean(name, known_names(kind)) or f"known: {', '.join(sorted(ENTRIES[kind]))}"
        if kind in ("loss", "metric", "callback"):  # kinds a plugin can add
            from ..plugins import loaded_text

            hint += f" ({loaded_text()})"
        return hint

    def obj(self, value, where, kind: str):
        """A catalog object given as `Name(...)`, a bare name or a string -> {"class_name", "config"}.

        Names, arguments, types, ranges and the entry's rules come from the train catalog; each
        problem is reported at the argument that has it."""
        title = KINDS[kind][0]
        if not isinstance(value, (Ref, str, Call)):
            self.error("E202", f"expected a {title}, got {show(value)}", where)
            return None
        name = value if isinstance(value, str) else value.name
        entry = lookup(kind, name)
        if entry is None:
            self.error(
                "E601",
                f"unknown {title} {name!r}",
                where,
                self.unknown_hint(kind, name),
            )
            return None
        # a metric alias stays as written (it names the logged value); other aliases become the class
        class_name = name if kind == "metric" else entry.name
        if not isinstance(value, Call):
            return self.judged(entry, class_name, {}, where)
        config, ok = {}, True
        names = entry.arg_names
        if len(value.args) > len(names):
            self.error("E406", f"{value.name} takes at most {len(names)} positional arguments", where)
            ok = False
        for name, arg in zip(names, value.args):
            config[name] = arg
        for key, arg in value.kwargs:
            if key not in names:
                self.error(
                    "E402",
                    f"{value.name} has no argument {key!r}",
                    where + ("kwargs", key),
                    did_you_mean(key, names) or f"its arguments: {', '.join(names) or 'none'}",
                )
                ok = False
                continue
            config[key] = arg
        for key, arg in list(config.items()):
            if kind == "optimizer" and key == "learning_rate" and isinstance(arg, Call):
                nested = self.obj(arg, self.arg_span(where, entry, key), "schedule")
                if nested is None:
                    ok = False
                config[key] = nested
            elif isinstance(arg, (Call, Ref)):
                self.error(
                    "E202",
                    f"{value.name}: {key} must be a literal value, got {show(arg)}",
                    self.arg_span(where, entry, key),
                )
                ok = False
            else:
                config[key] = plain(arg)
        if not ok:
            return None
        return self.judged(entry, class_name, config, where)

    def judged(self, entry, class_name, config, where):
        """The entry's {"class_name", "config"} if the catalog accepts the config, else None (reported)."""
        found = problems(entry, config)
        for key, kind, message in found:
            arg = entry.arg(key) if key else None
            hint = arg.doc if arg is not None and arg.doc and kind in ("type", "range") else None
            if kind == "missing":
                hint = f"e.g. {entry.name}({key}=...)"
            elif kind == "path":
                hint = f'give a path relative to the run folder, e.g. {entry.name}({key}="{arg.type.good[0]}")'
                if "must end in" in message:
                    hint = "a whole model is saved as .keras; save_weights_only=True saves .weights.h5"
            self.error(CODES[kind], message, self.arg_span(where, entry, key) if key in config else where, hint)
        if found:
            return None
        return {"class_name": class_name, "config": plain_config(entry, config)}

    # -- the TRAINING dict -------------------------------------------------------
    def training(self) -> dict:
        s = self.settings
        optimizer = self.value("optimizer")
        opt = {"class_name": "Adam", "config": {}}
        if optimizer is not None:
            opt = self.obj(optimizer, ("train", "optimizer"), "optimizer") or opt
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
                {"name": i.name, "shape": None if i.shape is None else list(i.shape), "dtype": i.dtype}
                for i in self.inputs
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
            entry = self.obj(cb, ("train", "callbacks", i), "callback")
            if entry:
                out["callbacks"].append(entry)
        data = self.value("data")
        if data is not None:
            out["data"] = self.data(data, ("train", "data"))
        if out["distribute"] == "none":
            out["distribute"] = None
        if out["precision"] == "float32":
            out["precision"] = None
        if self.model is not None:
            check_compat(self, self.model, out)
            check_adapting(self.model, self.errors)
            check_columns(self, out, self.model)
        return out

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
                out[key] = self.obj(item, at, "loss")
            for name in self.outputs:
                if name not in value:
                    self.error("E602", f"no loss for output {name!r}", where, "give every output a loss")
            return out
        return self.obj(value, where, "loss")

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
                out[key] = [m for i, item in enumerate(items) if (m := self.obj(item, at + (i,), "metric"))]
            return out
        return [m for i, item in enumerate(value) if (m := self.obj(item, where + (i,), "metric"))]

    def data(self, value, where):
        if isinstance(value, str):
            kind = "csv" if value.endswith(".csv") else "npz"
            return {"source": kind, "path": value}
        entry = self.obj(value, where, "data")
        if entry is None:
            return None
        return {"source": entry["class_name"], **entry["config"]}


def check_training(settings: dict, spans: dict, path: str, errors: Collector, model) -> dict:
    return TrainingChecker(settings, spans, path, errors, model).training()
