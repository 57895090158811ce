"""Static checks that the train section fits the model: losses and metrics against the outputs
(units, final activation, from_logits), and the names callbacks watch against the names the run
will log. Each finding is an error at the setting that causes it.

These are the mistakes that `check` used to pass and training then met as a TensorFlow traceback
("Received a label value of 9 which is outside the valid range of [0, 1)") or as a silent,
meaningless figure (accuracy 0.0000 of a regression).
"""

from __future__ import annotations

import string

from ..diagnostics import did_you_mean
from ..ir.loss_terms import terms_of
from .train_catalog import SPARSE_LOSSES, label_form_problem, lookup, metric_labels

# Layers that hand their input's values on unchanged in kind (an activation before them is still
# the output's activation).
PASS_THROUGH = {
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianDropout",
    "AlphaDropout",
    "Flatten",
    "Reshape",
    "Permute",
    "RepeatVector",
    "Identity",
}
CROSSENTROPY = {
    "SparseCategoricalCrossentropy": "softmax",
    "CategoricalCrossentropy": "softmax",
    "CategoricalFocalCrossentropy": "softmax",
    "BinaryCrossentropy": "sigmoid",
    "BinaryFocalCrossentropy": "sigmoid",
}
ONE_UNIT_PER_CLASS = ("SparseCategoricalCrossentropy", "CategoricalCrossentropy", "CategoricalFocalCrossentropy")
REGRESSION = {
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "Huber",
    "LogCosh",
    "Poisson",
    "CosineSimilarity",
}
MONITORING = ("EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau")
SETS_LR = ("ReduceLROnPlateau", "LearningRateScheduler")


def final_activation(graph, tensor, depth=0):
    """The activation that makes `tensor` ("linear" when none), or None when it cannot be told
    (a merge, a layer whose values are not an activation's, an input)."""
    node = graph.producer(tensor)
    if node is None or depth > 64:
        return None
    layer = node.layer
    if layer.body is not None:
        outputs = layer.body.outputs
        return final_activation(layer.body, outputs[0], depth + 1) if len(outputs) == 1 else None
    if layer.kind in PASS_THROUGH and len(node.inputs) == 1:
        return final_activation(graph, node.inputs[0], depth + 1)
    if layer.kind == "Softmax":
        return "softmax"
    if layer.kind == "Activation" or "activation" in layer.values:
        activation = layer.values.get("activation")
        return "linear" if activation in (None, "linear") else activation if isinstance(activation, str) else None
    return None


class Compat:
    def __init__(self, checker, model):
        self.checker, self.model = checker, model
        self.outputs = list(model.outputs)
        self.terms = terms_of(model)  # `add_loss`: each term is logged under its name

    def units(self, output):
        shape = self.model.shapes.get(output)
        return shape[-1] if shape else None

    def loss_of(self, training, output):
        loss = training.get("loss")
        if isinstance(loss, dict) and "class_name" not in loss:
            return loss.get(output), ("train", "loss", "dict", output)
        return loss, ("train", "loss")

    def run(self, training):
        for output in self.outputs:
            loss, where = self.loss_of(training, output)
            activation = final_activation(self.model, output)
            self.softmax_of_one(output, activation)
            if loss:
                self.loss_fits(output, loss, where, activation)
        self.metrics_fit(training)
        self.terms_logged(training)
        self.monitors(training)

    # -- losses ------------------------------------------------------------------------------
    def softmax_of_one(self, output, activation):
        if activation == "softmax" and self.units(output) == 1:
            node = self.model.producer(output)
            self.checker.errors.error(
                "E602",
                f"output {output!r} applies softmax to 1 unit, so it is always 1.0 and nothing can be learned",
                node.span if node else self.checker.span(("model",)),
                'for a yes/no output use activation="sigmoid" with BinaryCrossentropy',
            )

    def loss_fits(self, output, loss, where, activation):
        name = loss["class_name"]
        units = self.units(output)
        entry = lookup("loss", name)
        name = entry.name if entry else name
        if name in ONE_UNIT_PER_CLASS and units == 1:
            self.checker.error(
                "E602",
                f"{name} needs one output unit per class, but output {output!r} has 1 unit",
                where,
                'two classes: BinaryCrossentropy with Dense(1, activation="sigmoid"); '
                'N classes: Dense(N, activation="softmax")',
            )
            return
        squash = CROSSENTROPY.get(name)
        if squash is None or activation is None:
            return
        from_logits = bool(loss["config"].get("from_logits"))
        if from_logits and activation in ("softmax", "sigmoid"):
            self.checker.error(
                "E602",
                f"{name}(from_logits=True) but output {output!r} already applies {activation}",
                where,
                "drop from_logits=True (the output holds probabilities), or make the last layer linear",
            )
        elif not from_logits and activation == "linear":
            self.checker.error(
                "E602",
                f"output {output!r} is linear (logits) but {name} expects probabilities",
                where,
                f'give the loss from_logits=True, or the last layer activation="{squash}"',
            )

    # -- metrics -----------------------------------------------------------------------------
    def metrics_fit(self, training):
        metrics = training.get("metrics") or []
        per_output = metrics if isinstance(metrics, dict) else {o: metrics for o in self.outputs}
        for output, items in per_output.items():
            loss, _ = self.loss_of(training, output)
            for i, metric in enumerate(items or []):
                where = (
                    ("train", "metrics", "dict", output, i) if isinstance(metrics, dict) else ("train", "metrics", i)
                )
                self.metric_fits(output, metric, where, loss)

    def metric_fits(self, output, metric, where, loss):
        entry = lookup("metric", metric["class_name"])
        config, units = metric["config"], self.units(output)
        name = entry.name if entry else metric["class_name"]
        loss_entry = lookup("loss", loss["class_name"]) if loss else None
        if name == "accuracy" and loss_entry is not None and loss_entry.name in REGRESSION:
            self.checker.error(
                "E604",
                f"accuracy counts exactly right classes, but {loss_entry.name} makes output {output!r} a regression",
                where,
                "use mae or mse (or RootMeanSquaredError) for a regression",
            )
        if loss_entry is not None and units is not None:
            ids = loss_entry.name in SPARSE_LOSSES  # a sparse loss's labels are class ids
            problem = label_form_problem(name, ids, units, f"{loss_entry.name}'s labels")
            if problem:
                self.checker.error("E604", f"{name} on output {output!r}: {problem[0]}", where, problem[1])
        k = config.get("k", 5) if name in ("TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy") else None
        if k is not None and units is not None and k >= units:
            self.checker.error(
                "E604",
                f"{name}(k={k}) on output {output!r} of {units} unit{'s' if units != 1 else ''} is always 1.0",
                where,
                f"k must be less than the number of classes ({units})",
            )
        class_id = config.get("class_id") if name in ("Precision", "Recall") else None
        if class_id is not None and units is not None and class_id >= units:
            self.checker.error(
                "E604",
                f"{name}(class_id={class_id}) but output {output!r} has {units} unit{'s' if units != 1 else ''}",
                where,
                f"class ids go from 0 to {units - 1}",
            )

    # -- names the callbacks watch -----------------------------------------------------------
    def terms_logged(self, training):
        """E311 for an `add_loss` term logged under a name the run logs already: an output's loss, a
        metric, or the validation form of one (`val_accuracy`). ("loss", "lr": see tfspec.ir.lower.)"""
        others = self.logged(training, terms=False)[0]
        train_names = [n for n in others if not n.startswith("val_")] + list(self.terms)
        for name, term in self.terms.items():
            if name in others or (name.startswith("val_") and name[4:] in train_names):
                self.checker.errors.error(
                    "E311",
                    f"the loss term {name!r} would be logged under the name of another logged value",
                    term.span,
                    f"give the tensor another name; logged: {', '.join(n for n in others if n != 'lr')}",
                )

    def logged(self, training, terms=True):
        """The names each epoch's logs will hold (as tfspec.runtime.session logs them)."""
        names = ["loss"]
        if len(self.outputs) > 1:
            names += [f"{o}_loss" for o in self.outputs]
        names += list(self.terms) if terms else []
        names += [label for _, _, label in metric_labels(self.outputs, training.get("metrics") or [])]
        validated = training.get("validation_split") or training.get("validation_data")
        return names + (["val_" + n for n in names] if validated else []) + ["lr"], bool(validated)

    def monitors(self, training):
        logged, validated = self.logged(training)
        scheduled = isinstance(((training.get("optimizer") or {}).get("config") or {}).get("learning_rate"), dict)
        for i, callback in enumerate(training.get("callbacks") or []):
            name, config = callback["class_name"], callback["config"]
            where = ("train", "callbacks", i)
            if name in SETS_LR and scheduled:
                self.checker.error(
                    "E606",
                    f"{name} sets the learning rate, but the optimizer's learning_rate is a schedule",
                    where,
                    "give the optimizer a number (learning_rate=1e-3), or drop the callback",
                )
            watches = name in MONITORING and (name != "ModelCheckpoint" or config.get("save_best_only"))
            if watches:
                monitor = config.get("monitor", "val_loss")
                if monitor not in logged:
                    at = self.checker.arg_span(where, lookup("callback", name), "monitor")
                    self.unlogged(f"{name} monitors {monitor!r}", monitor, logged, validated, at, "monitor")
            if name == "ModelCheckpoint" and isinstance(config.get("filepath"), str):
                for field in template_fields(config["filepath"]):
                    if field != "epoch" and field not in logged:
                        at = self.checker.arg_span(where, lookup("callback", name), "filepath")
                        self.unlogged(f"ModelCheckpoint filepath names {field!r}", field, logged, validated, at, "name")

    def unlogged(self, what, name, logged, validated, where, verb):
        if name.startswith("val_") and not validated:
            hint = f"add validation = 0.2 to the train section, or {verb} {name[4:]!r}"
            message = f"{what}, but the train section has no validation, so no val_ values are logged"
        else:
            hint = did_you_mean(name, logged) or f"logged: {', '.join(logged)}"
            message = f"{what}, which is never logged"
        self.checker.error("E605", message, where, hint)


def template_fields(template):
    """The field names of a str.format template ('m-{epoch:03d}-{val_loss:.2f}' -> epoch, val_loss)."""
    try:
        return [field for _, field, _, _ in string.Formatter().parse(template) if field]
    except ValueError:
        return []  # the path check reports a broken template


def check_compat(checker, model, training) -> None:
    if model is None or training.get("loss") is None:
        return
    Compat(checker, model).run(training)
