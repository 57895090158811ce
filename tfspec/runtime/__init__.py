"""tfspec training runtime: a fast GradientTape loop for any built keras.Model.

from tfspec.runtime import train_model, evaluate_model
result = train_model(model, training, out_dir="runs/mnist", seed=0)
"""

from .callbacks import Callback
from .errors import CheckpointError, DataError, TrainingError
from .loop import TrainResult, evaluate_model, train_model

__all__ = ["Callback", "CheckpointError", "DataError", "TrainResult", "TrainingError", "evaluate_model", "train_model"]
