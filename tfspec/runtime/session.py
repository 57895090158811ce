"""A model with its prepared data, loss, metrics, optimizer and traced steps."""

import math

import numpy as np

from ..check.train_catalog import metric_labels
from . import adapt
from .data import split_data, take
from .errors import SettingsError
from .objects import Objective, fuse_adam, make_metric
from .pipeline import ArrayPipeline
from .signature import describe, prepare, prepare_x, probe
from .steps import Steps


def check_term_names(terms, outputs, metrics):
    """A SettingsError when an `add_loss` term would be logged under a name the run logs already
    (what `tfspec check` reports as E311, for a spec checked with another train section)."""
    taken = {"loss", "lr", "epoch", *metrics} | ({f"{name}_loss" for name in outputs} if len(outputs) > 1 else set())
    logged = taken | set(terms)
    for term in terms:
        if term in taken or (term.startswith("val_") and term[4:] in logged):
            raise SettingsError(
                f"the loss term {term!r} (add_loss) would be logged under the name of another logged value; "
                "rename the tensor in the spec"
            )


class Session:
    """Everything one training or evaluation run needs, built under the strategy's scope."""

    def __init__(self, model, opts, data, base_dir, strategy, optimizer=None, adapting=None):
        """`adapting`: model -> [adapt.Adapting], the layers that learn their state from the training
        split before training (tfspec.runtime.adapt); None when nothing adapts."""
        self.model, self.opts, self.strategy, self.optimizer = model, opts, strategy, optimizer
        self.distributed = opts["distribute"] is not None
        # the data are read and checked before the model is called: a wrong input shape is a data
        # error, and the labels are checked against the outputs' shapes and the loss before any step
        sig = describe(model, opts)
        splits = split_data(data, opts, base_dir, sig.inputs)
        self.classes = splits.classes
        self.adapted = adapting(model) if adapting is not None else []
        with strategy.scope():
            if self.adapted:  # on the training split only, before the model first runs
                train_x = prepare_x(splits.train[0], sig, splits.name("train"))
                adapt.adapt(self.adapted, train_x, sig.inputs, splits.name("train"))
                splits.train = (train_x, splits.train[1])
            first = take(splits.train[0], slice(0, 1))  # the probe needs one sample, converted like all
            probe(model, sig, prepare_x(first, sig, splits.name("train")), splits.name("train"))
            self.objective = Objective(opts["loss"], sig.output_names, opts["loss_weights"])
            specs = self.objective.specs
            self.train = prepare(splits.train, sig, specs, "training", splits.name("train"))
            self.validation = prepare(splits.validation, sig, specs, "validation", splits.name("validation"))
            self.test = prepare(splits.test, sig, specs, "test", splits.name("test"))
            self.metrics = self._metrics(opts["metrics"], sig)
            if optimizer is not None:
                optimizer.build(model.trainable_variables)  # before tracing (keras-team/keras#23085)
                if not self.distributed:
                    fuse_adam(optimizer)
        self.steps = Steps(
            model,
            optimizer,
            self.objective,
            self.metrics,
            sig,
            strategy,
            distributed=self.distributed,
            batch_size=opts["batch_size"],
            jit_compile=opts["jit_compile"],
            partial=(self._partial([self.train]), self._partial([self.train, self.validation, self.test])),
        )
        self.rows = self.steps.rows_per_element(opts["steps_per_call"])
        check_term_names(self.steps.term_names, sig.output_names, [m.name for _, m in self.metrics])
        self._eval_iterators = {}

    def _partial(self, splits):
        """Whether one of `splits` (arrays, or None) ends in a partial batch."""
        bs = self.opts["batch_size"]
        return any(len(split[1][0]) % bs for split in splits if split is not None)

    def _metrics(self, spec, sig):
        """[(output index, metric)], each named by the label it is logged under (the train catalog's
        `metric_labels`, which `check` reads too): "<metric>", or "<output>_<metric>" with several."""
        names, metrics = sig.output_names, []
        for index, m, label in metric_labels(names, spec):
            name = names[index]
            metric = make_metric(
                m, self.train[1][index].shape, sig.output_shapes[index], self.objective.specs.get(name)
            )
            metric.name = label
            metrics.append((index, metric))
        return metrics

    def steps_for(self, n):
        return math.ceil(n / self.opts["batch_size"])

    def pipeline(self, split):
        return ArrayPipeline(getattr(self, split), shard=self.distributed)

    def iterator(self, ds):
        if self.distributed:
            ds = self.strategy.experimental_distribute_dataset(ds)
        return iter(ds)

    def train_iterator(self, pipeline, seed, first_epoch, first_step):
        return self.iterator(
            pipeline.training(seed, self.opts["epochs"], self.rows, self.opts["batch_size"], first_epoch, first_step)
        )

    def logs(self, out, loss_sum, count, output_sums, prefix=""):
        """Loss (mean over samples), per-output losses (several outputs), each `add_loss` term under
        its name, metric results. `output_sums` holds the outputs' sums, then the terms' (Steps)."""
        count = max(count, 1.0)
        logs = {prefix + "loss": loss_sum / count}
        several = len(self.objective.output_names) > 1
        if several:
            for name, s in zip(self.objective.output_names, output_sums):
                logs[f"{prefix}{name}_loss"] = float(s) / count
        terms = output_sums[len(self.objective.output_names) :] if several else output_sums
        for name, s in zip(self.steps.term_names, terms):
            logs[prefix + name] = float(s) / count
        for _, metric in self.metrics:
            logs[prefix + metric.name] = float(out[metric.name])
        return {k: float(v) for k, v in logs.items()}

    def evaluate(self, split, prefix=""):
        """Loss and metrics over one pass of a split; its iterator is kept for the next pass."""
        if split not in self._eval_iterators:
            pipeline = self.pipeline(split)
            self._eval_iterators[split] = (self.iterator(pipeline.ordered(self.rows)), pipeline.size)
        it, size = self._eval_iterators[split]
        self.steps.reset_metrics()
        total, k = self.steps_for(size), self.opts["steps_per_call"]
        done, loss_sum, count, sums, out = 0, 0.0, 0.0, np.zeros(self.steps.sums_size), {}
        while done < total:
            out = self.steps.evaluate(it, min(k, total - done))
            done += int(out["steps"])
            loss_sum, count = loss_sum + float(out["loss_sum"]), count + float(out["count"])
            sums = sums + out["output_sums"]
        return self.logs(out, loss_sum, count, sums, prefix)
