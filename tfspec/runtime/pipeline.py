"""tf.data pipelines over in-memory arrays, built once per run.

The arrays enter the pipeline once through `from_tensors(...).repeat()` (no large constants in
the dataset graph) and each element is gathered by a block of indices. The training order of
epoch e is a stateless shuffle seeded by (seed, e), computed in-graph, so one dataset and one
iterator serve every epoch (no per-epoch pipeline construction or start-up latency) and a resumed
run re-creates the order and skips the consumed steps. Elements never span two epochs.
"""

import tensorflow as tf


class ArrayPipeline:
    """Arrays converted to tensors once; datasets of blocks of `rows` samples."""

    def __init__(self, arrays, shard=False):
        with tf.device("/cpu:0"):
            self.tensors = tf.nest.map_structure(tf.convert_to_tensor, arrays)
        self.size = int(tf.nest.flatten(self.tensors)[0].shape[0])
        self.shard = shard

    def _finish(self, indices):
        source = tf.data.Dataset.from_tensors(self.tensors).repeat()
        ds = tf.data.Dataset.zip((indices, source)).map(
            lambda idx, data: tf.nest.map_structure(lambda t: tf.gather(t, idx), data)
        )
        options = tf.data.Options()
        options.experimental_optimization.apply_default_optimizations = False
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA if self.shard else tf.data.experimental.AutoShardPolicy.OFF
        )
        # One block ready ahead is enough: a block feeds `steps_per_call` steps. AUTOTUNE's parallel
        # gathers and prefetching kept several (14 MiB more at the peak for the MNIST CNN), no faster.
        return ds.with_options(options).prefetch(1)

    def training(self, seed, epochs, rows, batch_size, first_epoch=0, first_step=0):
        """Shuffled blocks for epochs first_epoch..epochs-1, the first `first_step` batches skipped."""
        n = tf.constant(self.size, tf.int64)
        rows = tf.constant(rows, tf.int64)

        def epoch_blocks(epoch):
            order = tf.random.experimental.stateless_shuffle(
                tf.range(n), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
            )
            start = tf.where(epoch == first_epoch, tf.constant(first_step * batch_size, tf.int64), 0)
            blocks = (n - start + rows - 1) // rows
            return tf.data.Dataset.range(blocks).map(
                lambda b: order[start + b * rows : tf.minimum(start + (b + 1) * rows, n)]
            )

        return self._finish(tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_blocks))

    def ordered(self, rows):
        """Blocks in sample order, repeated: each pass over the data is one evaluation."""
        n = self.size
        blocks = tf.data.Dataset.range((n + rows - 1) // rows).map(
            lambda b: tf.range(b * rows, tf.minimum((b + 1) * rows, n))
        )
        return self._finish(blocks.repeat())
