"""`invoke train`: train, gate, export and describe the Iris KNN model."""

from prediris_ops.core.model import train_model
from prediris_ops.core.options import number
from prediris_ops.tasks.exits import task


@task(
    help={
        "model-dir": "Where to write the model (default: model.dir, `models`).",
        "min-accuracy": "Quality gate on test accuracy (default: model.min_accuracy, 0.90).",
    }
)
def train(c, model_dir=None, min_accuracy=None):
    """Train the KNN classifier on Iris, gate it on accuracy, and save it with its card."""
    train_model(c.model, model_dir or c.model.dir, number(min_accuracy, float, "min-accuracy"))
