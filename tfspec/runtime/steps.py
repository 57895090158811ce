"""The traced train and evaluation functions: several steps per tf.function call, one host sync.

Without distribution each call takes one element of `steps_per_call * batch_size` rows from the
iterator and loops over its batches in-graph (the last batch may be partial). Under a strategy
each call loops `n` times over a distributed iterator of global batches, `strategy.run` per step.
Losses are summed per sample and divided by the global batch size, once; regularisation losses
are divided by the replica count; the optimizer all-reduces the gradients.
"""

import tensorflow as tf

SUM = tf.distribute.ReduceOp.SUM


class Steps:
    """tf.functions for training and evaluation calls, traced once each."""

    def __init__(
        self, model, optimizer, objective, metrics, sig, strategy, *, distributed, batch_size, jit_compile=False
    ):
        self.model, self.optimizer, self.objective = model, optimizer, objective
        self.metrics = metrics  # [(output index, keras metric)]
        self.sig, self.strategy, self.distributed = sig, strategy, distributed
        self.batch_size = batch_size
        self.replicas = strategy.num_replicas_in_sync
        self.n_outputs = len(objective.output_names)
        self._gradients = tf.function(self._gradients, jit_compile=True) if jit_compile else self._gradients
        mode = self._steps_fn if distributed else self._block_fn
        self._train_fn = tf.function(mode(self._train_replica), autograph=False)
        self._eval_fn = tf.function(mode(self._eval_replica), autograph=False)

    # ------------------------------------------------------------ per replica
    def _global_count(self, y):
        n = tf.cast(tf.shape(y[0])[0], tf.float32)
        if self.replicas > 1:
            return n, tf.distribute.get_replica_context().all_reduce(SUM, n)
        return n, n

    def _loss(self, y, pred, n_global):
        pred = tuple(tf.cast(p, tf.float32) for p in self.sig.outputs_tuple(pred))
        sums = self.objective.sums(y, pred)
        loss = self.objective.total(sums) / tf.maximum(n_global, 1.0)
        if self.model.losses:
            loss += tf.add_n([tf.cast(v, tf.float32) for v in self.model.losses]) / self.replicas
        return loss, sums, pred

    def _gradients(self, x, y, n_global):
        with tf.GradientTape() as tape:
            loss, sums, pred = self._loss(y, self.model(x, training=True), n_global)
            scaled = self.optimizer.scale_loss(loss)
        return tape.gradient(scaled, self.model.trainable_variables), loss, sums, pred

    def _update_metrics(self, y, pred):
        for index, metric in self.metrics:
            metric.update_state(y[index], pred[index])

    def _train_replica(self, x, y):
        n, n_global = self._global_count(y)
        grads, loss, sums, pred = self._gradients(x, y, n_global)
        self.optimizer.apply(grads, self.model.trainable_variables)
        self._update_metrics(y, pred)
        return loss * n_global, tf.stack(sums), n

    def _eval_replica(self, x, y):
        n, n_global = self._global_count(y)
        loss, sums, pred = self._loss(y, self.model(x, training=False), n_global)
        self._update_metrics(y, pred)
        return loss * n_global, tf.stack(sums), n

    # ------------------------------------------------------------ loops
    def _initial(self):
        zero = tf.constant(0.0)
        return tf.constant(0), zero, tf.zeros([self.n_outputs]), zero, tf.constant(True)

    def _results(self, done, total, sums, count):
        out = {"steps": done, "loss_sum": total, "output_sums": sums, "count": count}
        out.update({metric.name: metric.result() for _, metric in self.metrics})
        return out

    def _block_fn(self, replica_fn):
        bs = self.batch_size

        def call(iterator):
            x_all, y_all = iterator.get_next()
            steps = (tf.shape(y_all[0])[0] + bs - 1) // bs

            def body(i, total, sums, count, ok):
                part = lambda t: t[i * bs : (i + 1) * bs]  # noqa: E731
                loss, s, n = replica_fn(tf.nest.map_structure(part, x_all), tf.nest.map_structure(part, y_all))
                return i + 1, total + loss, sums + s, count + n, tf.math.is_finite(loss)

            done, total, sums, count, _ = tf.while_loop(
                lambda i, *rest: tf.logical_and(i < steps, rest[-1]), body, self._initial()
            )
            return self._results(done, total, sums, count)

        return call

    def _steps_fn(self, replica_fn):
        def call(iterator, n):
            def body(i, total, sums, count, ok):
                x, y = iterator.get_next()
                loss, s, c = (
                    self.strategy.reduce(SUM, v, axis=None) for v in self.strategy.run(replica_fn, args=(x, y))
                )
                return i + 1, total + loss, sums + s, count + c, tf.math.is_finite(loss)

            done, total, sums, count, _ = tf.while_loop(
                lambda i, *rest: tf.logical_and(i < n, rest[-1]), body, self._initial()
            )
            return self._results(done, total, sums, count)

        return call

    # ------------------------------------------------------------ host side
    def rows_per_element(self, steps_per_call):
        return self.batch_size if self.distributed else self.batch_size * steps_per_call

    def _run(self, fn, iterator, n):
        out = fn(iterator, tf.constant(n, tf.int32)) if self.distributed else fn(iterator)
        return {k: v.numpy() for k, v in out.items()}

    def train(self, iterator, n):
        """Run up to `n` steps (one call); returns numpy results; stops early at a non-finite loss."""
        return self._run(self._train_fn, iterator, n)

    def evaluate(self, iterator, n):
        return self._run(self._eval_fn, iterator, n)

    def reset_metrics(self):
        for _, metric in self.metrics:
            metric.reset_state()

    def trace_count(self):
        return self._train_fn.experimental_get_tracing_count() + self._eval_fn.experimental_get_tracing_count()
