"""`invoke train`: train, gate, export and describe the Iris KNN model."""

from invoke import task
from invoke.exceptions import Exit

import prediris_model
from prediris_model import ModelError, TrainingConfig
from prediris_ops.core.options import number


def ensure_model(c, model_dir: str | None = None) -> str:
    """Train unless a model that verifies against its card is already in `model_dir`; return the version."""
    directory = model_dir or c.model.dir
    try:
        return prediris_model.load(directory).version
    except ModelError as error:
        print(f"no verified model in {directory} ({error}); training one")
        return train_model(c, directory)


def train_model(c, directory: str, min_accuracy: float | None = None) -> str:
    config = TrainingConfig(
        test_size=c.model.test_size,
        seed=c.model.seed,
        cv_folds=c.model.cv_folds,
        min_accuracy=c.model.min_accuracy if min_accuracy is None else min_accuracy,
    )
    try:
        result = prediris_model.train(config)
    except ModelError as error:
        raise Exit(f"training failed: {error}", code=1) from None
    card_path = prediris_model.save(result, directory)
    card = prediris_model.load(directory).card
    test = card["metrics"]["test"]
    params = card["hyperparameters"]
    print(f"trained {card['name']} version {card['version']}: k={params['n_neighbors']}, weights={params['weights']}")
    print(f"  test accuracy {test['accuracy']:.4f} (gate {config.min_accuracy:.2f}), cv accuracy {card['selection']['cv_accuracy']:.4f}")
    for name, scores in test["per_class"].items():
        print(f"  {name:<11} precision {scores['precision']:.3f} recall {scores['recall']:.3f} f1 {scores['f1']:.3f}")
    print(f"  saved {card['file']} and {card_path.name} in {directory}")
    return card["version"]


@task(
    help={
        "model-dir": "Where to write the model (default: model.dir, `models`).",
        "min-accuracy": "Quality gate on test accuracy (default: model.min_accuracy, 0.90).",
    }
)
def train(c, model_dir=None, min_accuracy=None):
    """Train the KNN classifier on Iris, gate it on accuracy, and save it with its card."""
    train_model(c, model_dir or c.model.dir, number(min_accuracy, float, "min-accuracy"))
