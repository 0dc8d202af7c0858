"""The naive baseline of `invoke bench`: what a first Flask API for the model looks like —
`joblib.load` at start, `model.predict` per request, `jsonify` — on waitress with prediris's
server settings. Kept as the reference that prediris is measured against. It answers less than
prediris (no probabilities, no validation, no metrics), which only makes it faster.

Run as `python perf/bench/naive.py` with PREDIRIS_HOST/PREDIRIS_PORT/PREDIRIS_MODEL_DIR set.
"""

from pathlib import Path

import joblib
import waitress
from flask import Flask, jsonify, request

from prediris_api.serving.server import configure_logging, waitress_options
from prediris_api.settings import Settings

CLASSES = ["setosa", "versicolor", "virginica"]
settings = Settings.from_env()
model = joblib.load(Path(settings.model_dir) / "iris-knn.joblib")
app = Flask(__name__)


@app.post("/predict")
def predict():
    features = [request.get_json()["X"]]
    label = int(model.predict(features)[0])
    return jsonify(prediction=CLASSES[label], class_id=label)


@app.get("/health/ready")
def ready():
    return jsonify(status="ready")


if __name__ == "__main__":
    configure_logging("WARNING")
    waitress.serve(app, **waitress_options(settings))
