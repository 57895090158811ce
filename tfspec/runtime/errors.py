"""Errors raised by the training runtime."""


class RuntimeErrorBase(Exception):
    """Base class of the runtime's errors."""


class DataError(RuntimeErrorBase):
    """A data source cannot be found, read or matched to the model."""


class TrainingError(RuntimeErrorBase):
    """Training cannot go on (a non-finite loss or weight, bad settings)."""


class CheckpointError(TrainingError):
    """A checkpoint cannot be used to resume (other spec, unreadable files)."""


class SettingsError(TrainingError, ValueError):
    """The training settings are not what the train catalog accepts (what `tfspec check` would say)."""
