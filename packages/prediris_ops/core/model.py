"""The model every serving task needs: reuse a verified one, or train, gate and save it.

prediris_model (scikit-learn, SciPy) is imported on first use: the task modules import this one, and
`invoke --list` should not pay for scikit-learn.
"""

import re
from collections.abc import Callable, Mapping

from prediris_ops.core.errors import OpsError

# The advice a model error ends with ("run `invoke train` …"): dropped where the task trains by itself.
ADVICE = re.compile(r"[:;,]?\s*(—\s*)?(run|retrain with) `invoke train`.*$")


def ensure_model(settings: Mapping, model_dir: str | None = None, say: Callable[[str], None] = print) -> str:
    """Train unless a model that verifies against its card is already in `model_dir`; return the version."""
    import prediris_model  # noqa: PLC0415

    directory = model_dir or settings["dir"]
    try:
        return prediris_model.load(directory).version
    except prediris_model.ModelNotFound:
        say(f"no model in {directory} yet: training one")
    except prediris_model.ModelError as error:
        say(f"the model in {directory} does not verify ({ADVICE.sub('', str(error))}): training a new one")
    return train_model(settings, directory, say=say)


def train_model(settings: Mapping, directory: str, min_accuracy: float | None = None, say: Callable[[str], None] = print) -> str:
    """Train with the `model` settings (invoke.yaml), gate on accuracy, save into `directory`; return the version."""
    import prediris_model  # noqa: PLC0415

    config = prediris_model.TrainingConfig(
        test_size=settings["test_size"],
        seed=settings["seed"],
        cv_folds=settings["cv_folds"],
        min_accuracy=settings["min_accuracy"] if min_accuracy is None else min_accuracy,
    )
    try:
        result = prediris_model.train(config)
    except prediris_model.ModelError as error:
        raise OpsError(f"training failed: {error}") from None
    card_path = prediris_model.save(result, directory)
    card = prediris_model.load(directory).card
    test = card["metrics"]["test"]
    params = card["hyperparameters"]
    say(f"trained {card['name']} version {card['version']}: k={params['n_neighbors']}, weights={params['weights']}")
    say(f"  test accuracy {test['accuracy']:.4f} (gate {config.min_accuracy:.2f}), cv accuracy {card['selection']['cv_accuracy']:.4f}")
    for name, scores in test["per_class"].items():
        say(f"  {name:<11} precision {scores['precision']:.3f} recall {scores['recall']:.3f} f1 {scores['f1']:.3f}")
    say(f"  saved {card['file']} and {card_path.name} in {directory}")
    return card["version"]
