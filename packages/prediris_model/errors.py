"""Errors raised by the model package; each message names the file and the fix."""


class ModelError(Exception):
    """Base class: a model that cannot be trained, saved or served."""


class ModelNotFound(ModelError):
    """No model artifact (or no card) where one was expected."""


class ModelIntegrityError(ModelError):
    """The artifact does not match its card: refuse to unpickle it."""


class QualityGateFailed(ModelError):
    """The trained model scored below the configured accuracy threshold."""
