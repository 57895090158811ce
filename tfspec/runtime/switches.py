"""Process-wide switches set for one training run and restored afterwards."""

from contextlib import contextmanager

import keras
import tensorflow as tf

try:
    from tensorflow.python.framework.config import disable_op_determinism, is_op_determinism_enabled
except ImportError:  # pragma: no cover - other TensorFlow versions: leave determinism on
    disable_op_determinism = is_op_determinism_enabled = None

POLICIES = (None, "mixed_float16", "mixed_bfloat16")


@contextmanager
def precision_policy(name):
    """Keras's global dtype policy for the block (models built inside it use it)."""
    if name not in POLICIES:
        raise ValueError(f"unknown precision {name!r} (mixed_float16, mixed_bfloat16)")
    previous = keras.mixed_precision.global_policy()
    if name:
        keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


@contextmanager
def op_determinism(enabled):
    """tf.config.experimental.enable_op_determinism() for the block."""
    was_on = is_op_determinism_enabled() if is_op_determinism_enabled else False
    if enabled and not was_on:
        tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if enabled and not was_on and disable_op_determinism:
            disable_op_determinism()
