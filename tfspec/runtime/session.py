"""A model with its prepared data, loss, metrics, optimizer and traced steps."""

import math

import numpy as np

from ..check.train_catalog import metric_labels
from .data import split_data, take
from .objects import Objective, fuse_adam, make_metric
from .pipeline import ArrayPipeline
from .signature import describe, prepare, prepare_x, probe
from .steps import Steps


class Session:
    """Everything one training or evaluation run needs, built under the strategy's scope."""

    def __init__(self, model, opts, data, base_dir, strategy, optimizer=None):
        self.model, self.opts, self.strategy, self.optimizer = model, opts, strategy, optimizer
        self.distributed = opts["distribute"] is not None
        # the data are read and checked before the model is called: a wrong input shape is a data
        # error, and the labels are checked against the outputs' shapes and the loss before any step
        splits = split_data(data, opts, base_dir)
        sig = describe(model, opts)
        with strategy.scope():
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
        )
        self.rows = self.steps.rows_per_element(opts["steps_per_call"])
        self._eval_iterators = {}

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
        """Loss (mean over samples), per-output losses (several outputs), metric results."""
        count = max(count, 1.0)
        logs = {prefix + "loss": loss_sum / count}
        if len(self.objective.output_names) > 1:
            for name, s in zip(self.objective.output_names, output_sums):
                logs[f"{prefix}{name}_loss"] = float(s) / count
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
        done, loss_sum, count, sums, out = 0, 0.0, 0.0, np.zeros(len(self.objective.output_names)), {}
        while done < total:
            out = self.steps.evaluate(it, min(k, total - done))
            done += int(out["steps"])
            loss_sum, count = loss_sum + float(out["loss_sum"]), count + float(out["count"])
            sums = sums + out["output_sums"]
        return self.logs(out, loss_sum, count, sums, prefix)
