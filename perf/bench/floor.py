"""The floor of `invoke bench`: a minimal Flask app on waitress, with prediris's server settings,
answering POST /predict with a constant body. Nothing can serve /predict faster on this stack.

Run as `python perf/bench/floor.py` with PREDIRIS_HOST/PREDIRIS_PORT (and the other PREDIRIS_*
server settings) in the environment.
"""

import waitress
from flask import Flask, Response

from prediris_api.serving.server import configure_logging, waitress_options
from prediris_api.settings import Settings

BODY = (
    b'{"prediction":"setosa","class_id":0,"probabilities":{"setosa":1.0,"versicolor":0.0,"virginica":0.0},"model_version":"000000000000"}'
)

app = Flask(__name__)


@app.post("/predict")
def predict():
    return Response(BODY, mimetype="application/json")


@app.get("/health/ready")
def ready():
    return Response(b'{"status":"ready"}', mimetype="application/json")


if __name__ == "__main__":
    settings = Settings.from_env()
    configure_logging("WARNING")
    waitress.serve(app, **waitress_options(settings))
