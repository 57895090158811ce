"""The traced train and evaluation functions: several steps per tf.function call, one host sync.

Without distribution each call takes one element of `steps_per_call * batch_size` rows from the
iterator and loops over its batches in-graph: full batches with their size known when tracing, a
last partial batch (when a split has one) in a second loop of its own. Under a strategy
each call loops `n` times over a distributed iterator of global batches, `strategy.run` per step.

Each output's loss is Keras's (objects.Objective): a numerator summed on each replica over a
divisor (the number of values, or of valid values under a mask) added over the replicas, so the
loss is that of the global batch, divided once; regularisation losses are divided by the replica
count; the optimizer all-reduces the gradients.

The spec's `add_loss` terms are read from the generated AddLoss layers (tfspec.backends.losses),
which hold what they added in the step (a block used twice has two, summed under one name). Each
is a mean over a replica's rows, weighted by their share of the global batch, so that the loss is
the global batch's there too (Keras's fit divides them by the replica count, which differs when
a batch does not split evenly). Each term is summed on its own as well, to be logged under its
name: the running sums of the terms follow those of the outputs' losses in one vector
(`output_sums`).

A training call stops at the first step whose loss is not finite or after which a model weight
is not finite (NaN/Inf): a NaN in a weight need not reach the loss (oneDNN's fused
MatMul+BiasAdd+Relu kernel returns 0 for a NaN input, so a network with a NaN weight can keep a
finite loss while training only spreads the NaN).
"""

import tensorflow as tf
from keras.src.backend import get_keras_mask, set_keras_mask  # not public; Keras's own mask accessors

from ..backends.losses import is_loss_layer

SUM = tf.distribute.ReduceOp.SUM


def _is_float(variable):
    return tf.as_dtype(variable.dtype).is_floating


def quick_sum(values, loss):
    """Sum of `loss` and of every number in `values`: not finite whenever one of them is not (a NaN
    or an Inf carries through a sum), but possibly also when finite values overflow the sum.
    One read-only reduction per tensor, the cheapest check there is."""
    sums = [tf.reduce_sum(v) for v in values]
    return tf.add_n([s if s.dtype == tf.float32 else tf.cast(s, tf.float32) for s in sums] + [loss])


# Scaled by 2**-100, no sum of float32 (or bfloat16, float64) values overflows: N * 3.4e38 * 2**-100
# is below 3e8 * N; in float16 the scale is 0, and x * 0 is 0 for a finite x. NaN and Inf stay NaN
# or Inf, so the scaled sum of a tensor is finite exactly when each of its values is.
_SCALE = 2.0**-100


def all_finite(values, loss=None):
    """A scalar bool: `loss` and every number in `values` are finite (exact; a multiply and a sum per
    tensor, cheaper than is_finite + reduce_all, which fills a boolean tensor and reduces it)."""
    flags = [tf.math.is_finite(tf.reduce_sum(v * tf.constant(_SCALE, v.dtype))) for v in values]
    if loss is not None:
        flags.append(tf.math.is_finite(loss))
    return tf.reduce_all(tf.stack(flags)) if flags else tf.constant(True)


def updated_values(variables, grads, others):
    """What a step may have changed: each trainable variable (only the rows a sparse gradient
    touched, e.g. an embedding table's looked-up rows), and the other float variables (`others`)."""
    out = []
    for v, g in zip(variables, grads):
        if isinstance(g, tf.IndexedSlices):
            out.append(tf.gather(v, g.indices))
        elif g is not None:
            out.append(v)
    return out + others


def loss_terms(model):
    """{term name: [AddLoss layers]} of a live model of any style (blocks' layers included), in the
    order Keras tracks its layers."""
    found = {}
    for layer in model._flatten_layers(include_self=False):  # (not public: every nested layer, once)
        if is_loss_layer(layer):
            found.setdefault(layer.term, []).append(layer)
    return found


def term_value(layers):
    """What the layers of one term added in this call (none when its branch is not chosen: 0)."""
    added = [tf.cast(v, tf.float32) for layer in layers for v in layer.losses]
    return tf.add_n(added) if added else tf.constant(0.0)


def with_masks(pred, masks):
    """Outputs with their Keras masks attached again (tensors returned by a tf.function lose them)."""
    for p, mask in zip(pred, masks):
        if mask is not None and get_keras_mask(p) is None:
            set_keras_mask(p, mask)
    return pred


class Steps:
    """tf.functions for training and evaluation calls, traced once each."""

    def __init__(
        self,
        model,
        optimizer,
        objective,
        metrics,
        sig,
        strategy,
        *,
        distributed,
        batch_size,
        jit_compile=False,
        partial=(True, True),
    ):
        """`partial`: whether the training data, and the data evaluated, may end in a partial batch."""
        self.model, self.optimizer, self.objective = model, optimizer, objective
        self.metrics = metrics  # [(output index, keras metric)]
        self.sig, self.strategy, self.distributed = sig, strategy, distributed
        self.batch_size = batch_size
        self.replicas = strategy.num_replicas_in_sync
        self.n_outputs = len(objective.output_names)
        self.per_output = self.n_outputs > 1  # each output's loss is logged only when there are several
        self.terms = loss_terms(model)  # `add_loss`: each term is logged under its name
        self.term_names = list(self.terms)
        self.n_sums = (self.n_outputs if self.per_output else 0) + len(self.term_names)
        self.sums_size = max(self.n_sums, 1)  # the length of `output_sums` (one zero when nothing is summed)
        # what a training step may turn non-finite: the weights and the float state of layers
        # (BatchNormalization's moving statistics); the optimizer's slots reach the weights only
        # through an update, which is checked
        self.watched = [v for v in model.variables if _is_float(v)]
        trainable = {id(v) for v in model.trainable_variables}
        self.non_trainable = [v for v in self.watched if id(v) not in trainable]
        self._train_forward = self._forward
        if jit_compile and self.replicas > 1:
            # the divisors are added over replicas between the forward and the backward pass, and a
            # cross-replica sum cannot run inside a compiled function: compile the model's call only
            self._train_forward = tf.function(self._forward, jit_compile=True)
        elif jit_compile:
            self._gradients = tf.function(self._gradients, jit_compile=True)
        mode = self._steps_fn if distributed else self._block_fn
        self._all_finite = tf.function(lambda: all_finite(self.watched), autograph=False)
        self._train_fn = tf.function(mode(self._train_replica, check=True, partial=partial[0]), autograph=False)
        self._eval_fn = tf.function(mode(self._eval_replica, check=False, partial=partial[1]), autograph=False)

    # ------------------------------------------------------------ per replica
    def _forward(self, x, training):
        """The model's outputs as a tuple (Keras masks attached), their masks, its other added losses
        (regularisation), and the value of each `add_loss` term."""
        pred = self.sig.outputs_tuple(self.model(x, training=training))
        terms = tuple(term_value(self.terms[name]) for name in self.term_names)
        added = self.model.losses
        if self.terms:  # (the terms' own tensors are in model.losses too)
            own = {id(v) for layers in self.terms.values() for layer in layers for v in layer.losses}
            added = [v for v in added if id(v) not in own]
        extra = tf.add_n([tf.cast(v, tf.float32) for v in added]) if added else None
        return pred, tuple(get_keras_mask(p) for p in pred), extra, terms

    def _loss(self, y, pred, extra, terms=()):
        """This replica's share of the global batch's loss, each output's loss, each term's share,
        sample counts. A term is a mean over this replica's rows: weighted by their share of the
        global batch, the terms of the replicas add up to the global batch's mean, as on one device
        (a replica given no row adds 0, not the NaN of an empty mean)."""
        n = tf.cast(tf.shape(y[0])[0], tf.float32)
        numerators, divisors = self.objective.terms(y, pred, n)
        n_global = n
        if self.replicas > 1:  # counts of the global batch: no gradient flows through them
            counts = tf.distribute.get_replica_context().all_reduce(SUM, tf.stop_gradient(tf.stack([n] + divisors)))
            n_global, divisors = counts[0], tf.unstack(counts[1:], num=len(divisors))
        per_output = self.objective.losses_of(numerators, divisors)
        loss = self.objective.total(per_output)
        if extra is not None:
            loss += extra / self.replicas if self.replicas > 1 else extra
        if self.replicas > 1:
            terms = tuple(tf.math.multiply_no_nan(t, n / n_global) for t in terms)
        for t in terms:
            loss += t
        return loss, (per_output, terms), n, n_global

    def _gradients(self, x, y):
        with tf.GradientTape() as tape:
            pred, masks, extra, terms = self._train_forward(x, True)
            loss, parts, n, n_global = self._loss(y, with_masks(pred, masks), extra, terms)
            scaled = self.optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, self.model.trainable_variables)
        return grads, loss, parts, pred, masks, n, n_global

    def _update_metrics(self, y, pred):
        for index, metric in self.metrics:
            metric.update_state(y[index], pred[index])

    def _sums(self, loss, parts, n, n_global):
        # summed over replicas: the global batch's loss (each output's, each term's) times its size
        per_output, terms = parts
        logged = (list(per_output) if self.per_output else []) + list(terms)
        return loss * n_global, (tf.stack(logged) * n_global if logged else None), n

    def _train_replica(self, x, y):
        grads, loss, parts, pred, masks, n, n_global = self._gradients(x, y)
        self.optimizer.apply(grads, self.model.trainable_variables)
        self._update_metrics(y, with_masks(pred, masks))  # a compiled function returns no masks
        changed = updated_values(self.model.trainable_variables, grads, self.non_trainable)
        return (*self._sums(loss, parts, n, n_global), quick_sum(changed, loss))

    def _eval_replica(self, x, y):
        pred, _, extra, terms = self._forward(x, False)
        loss, parts, n, n_global = self._loss(y, pred, extra, terms)
        self._update_metrics(y, pred)
        return (*self._sums(loss, parts, n, n_global), tf.constant(0.0))

    # ------------------------------------------------------------ loops
    # Loop state: (step, loss sum, sample count, [the last step's quick sum, its loss sum], and the
    # per-output sums with several outputs); every loop variable costs a few ops per step. A
    # training call runs steps while their quick sums are finite; when one is not (or the call is
    # done), the exact check of the last loss and of every watched variable decides: go on, if that
    # step was finite after all (finite values whose quick sum overflowed), or stop, with `finite`
    # false. So each step costs one read-only sum per changed tensor, and each call one exact check.

    def _initial(self):
        zero = tf.constant(0.0)
        state = (tf.constant(0), zero, zero, tf.zeros([2]))
        return state + ((tf.zeros([self.n_sums]),) if self.n_sums else ())

    def _add(self, state, step):
        loss, s, n, quick = step
        new = (state[0] + 1, state[1] + loss, state[2] + n, tf.stack([quick, loss]))
        return new + ((state[4] + s,) if self.n_sums else ())

    def _loop(self, segments, check):
        """Runs the steps of `segments`, [(limit, body)]: each body while the step count is below its
        limit (a segment takes over where the one before stopped)."""
        if check:

            def run(*state):
                state = state[:-1]
                for limit, body in segments:
                    state = tf.while_loop(
                        lambda i, total, count, last, *sums, limit=limit: tf.logical_and(
                            i < limit, tf.math.is_finite(last[0])
                        ),
                        body,
                        state,
                    )
                rearmed = (*state[:3], tf.stack([0.0, state[3][1]]), *state[4:])  # the next quick sum starts at 0
                return (*rearmed, all_finite(self.watched, state[3][1]))

            limit = segments[-1][0]
            *state, ok = tf.while_loop(
                lambda i, *rest: tf.logical_and(i < limit, rest[-1]), run, (*self._initial(), tf.constant(True))
            )
        else:
            state, ok = self._initial(), tf.constant(True)
            for limit, body in segments:
                state = tf.while_loop(lambda i, *rest, limit=limit: i < limit, body, state)
        done, total, count, last = state[:4]
        out = {"steps": done, "loss_sum": total, "count": count, "finite": ok, "last_loss": last[1]}
        out["output_sums"] = state[4] if self.n_sums else tf.zeros([1])  # one output, no term: the loss alone
        out.update({metric.name: metric.result() for _, metric in self.metrics})
        return out

    def _block_fn(self, replica_fn, check, partial):
        """Steps over the batches of one element. Full batches are sliced with their size known when
        tracing: shapes the graph can rely on cut the ops of a step (an LSTM's backward pass loses a
        third of its ops: no broadcast-gradient reductions, fewer values kept per time step). A
        last, partial batch runs in a second segment, traced only when `partial` says a split has
        one (else a partial batch is refused, never skipped)."""
        bs = self.batch_size

        def call(iterator):
            data = iterator.get_next()
            rows = tf.shape(data[1][0])[0]

            def body_of(full):
                def body(*state):
                    def part(t):
                        batch = t[state[0] * bs : (state[0] + 1) * bs]
                        if full:
                            batch.set_shape(tf.TensorShape([bs]).concatenate(t.shape[1:]))
                        return batch

                    return self._add(state, replica_fn(*tf.nest.map_structure(part, data)))

                return body

            full = rows // bs
            if partial:
                return self._loop([(full, body_of(True)), ((rows + bs - 1) // bs, body_of(False))], check)
            whole = tf.debugging.assert_equal(rows % bs, 0, message="a partial batch where none was expected")
            with tf.control_dependencies([whole]):
                full = tf.identity(full)
            return self._loop([(full, body_of(True))], check)

        return call

    def _steps_fn(self, replica_fn, check, partial):
        def call(iterator, n):
            def body(*state):
                x, y = iterator.get_next()
                step = self.strategy.run(replica_fn, args=(x, y))
                return self._add(state, [None if v is None else self.strategy.reduce(SUM, v, axis=None) for v in step])

            return self._loop([(n, body)], check)

        return call

    # ------------------------------------------------------------ host side
    def rows_per_element(self, steps_per_call):
        return self.batch_size if self.distributed else self.batch_size * steps_per_call

    def _run(self, fn, iterator, n):
        out = fn(iterator, tf.constant(n, tf.int32)) if self.distributed else fn(iterator)
        return {k: v.numpy() for k, v in out.items()}

    def train(self, iterator, n):
        """Run up to `n` steps (one call); returns numpy results. Stops after the first step whose loss
        or updated weights are not finite: then `finite` is False and `steps` counts that step."""
        return self._run(self._train_fn, iterator, n)

    def evaluate(self, iterator, n):
        return self._run(self._eval_fn, iterator, n)

    def reset_metrics(self):
        for _, metric in self.metrics:
            metric.reset_state()

    def non_finite_variables(self):
        """[(variable path, non-finite count, size)] of the watched variables, read on the host."""
        out = []
        if bool(self._all_finite()):
            return out
        for v in self.watched:
            values = tf.convert_to_tensor(v)
            bad = int(tf.reduce_sum(tf.cast(tf.logical_not(tf.math.is_finite(values)), tf.int64)))
            if bad:
                out.append((getattr(v, "path", v.name), bad, int(tf.size(values))))
        return out

    def trace_count(self):
        return self._train_fn.experimental_get_tracing_count() + self._eval_fn.experimental_get_tracing_count()
