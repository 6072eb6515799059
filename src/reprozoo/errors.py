"""Errors a user can act on. Stage scripts turn these into one line and exit code 1."""


class ReprozooError(Exception):
    """Base class: the message is complete and says how to fix the problem."""


class ConfigError(ReprozooError):
    """A bad key, type or value in params.yaml (the message names key, value and file)."""


class DataError(ReprozooError):
    """Missing, corrupted or unverifiable data."""


class TrainingError(ReprozooError):
    """Training could not finish (e.g. non-finite loss); no model is written."""


class CheckpointError(ReprozooError):
    """A checkpoint that does not belong to the family or shape asked for."""


class TrackingError(ReprozooError):
    """The MLflow store cannot be reached or written (checked as training starts)."""
