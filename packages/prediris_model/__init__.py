"""The Iris KNN model: train, evaluate, describe with a card, save and load with SHA-256 verification."""

from prediris_model.artifact import CARD_FILE, MODEL_FILE, MODEL_NAME, Classifier, LoadedModel, load, save
from prediris_model.dataset import CLASS_NAMES, FEATURES, Feature
from prediris_model.errors import ModelError, ModelIntegrityError, ModelNotFound, QualityGateFailed
from prediris_model.training import TrainingConfig, TrainingResult, train

__all__ = [
    "CARD_FILE",
    "CLASS_NAMES",
    "FEATURES",
    "MODEL_FILE",
    "MODEL_NAME",
    "Classifier",
    "Feature",
    "LoadedModel",
    "ModelError",
    "ModelIntegrityError",
    "ModelNotFound",
    "QualityGateFailed",
    "TrainingConfig",
    "TrainingResult",
    "load",
    "save",
    "train",
]
