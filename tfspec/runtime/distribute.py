"""Distribution strategies by name: None (default), "mirrored", "multi_worker"."""

import json
import os

import tensorflow as tf

from .errors import TrainingError

_cache = {}


def get_strategy(name):
    """The strategy for `name`; created once per process (multi-worker must come before other ops)."""
    if name is None:
        return tf.distribute.get_strategy()
    if name not in _cache:
        if name == "mirrored":
            devices = None
            if not tf.config.list_logical_devices("GPU"):
                devices = [d.name for d in tf.config.list_logical_devices("CPU")]
            _cache[name] = tf.distribute.MirroredStrategy(devices)
        elif name == "multi_worker":
            if "TF_CONFIG" not in os.environ:
                raise TrainingError(
                    "distribute: multi_worker needs the TF_CONFIG environment variable "
                    "(cluster and task of this worker)"
                )
            _cache[name] = tf.distribute.MultiWorkerMirroredStrategy()
        else:
            raise TrainingError(f"unknown distribution {name!r} (mirrored, multi_worker)")
    return _cache[name]


def worker_rank(strategy):
    """(task_type, task_id) of this worker; ("chief", 0) when not multi-worker."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return "chief", 0
    return resolver.task_type, resolver.task_id or 0


def is_chief(strategy):
    """The one worker that writes files: the chief, or worker 0 when the cluster has no chief."""
    task_type, task_id = worker_rank(strategy)
    if task_type == "chief":
        return True
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    return task_type == "worker" and task_id == 0 and "chief" not in cluster
