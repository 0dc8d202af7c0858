"""What most users write instead of prediris: FastAPI + uvicorn with their defaults, a pydantic body,
and a plain `def` endpoint calling the model's `predict` and `predict_proba` per request.

Run as `python perf/bench/fastapi_predict.py` with PREDIRIS_HOST, PREDIRIS_PORT and PREDIRIS_MODEL_DIR
in the environment. Written independently of prediris: it loads the joblib file itself.
"""

import os
from pathlib import Path

import joblib
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

MODEL = joblib.load(Path(os.environ.get("PREDIRIS_MODEL_DIR", "models")) / "iris-knn.joblib")
CLASSES = ["setosa", "versicolor", "virginica"]

app = FastAPI()


class Flower(BaseModel):
    X: list[float]


@app.post("/predict")
def predict(flower: Flower) -> dict:
    class_id = int(MODEL.predict([flower.X])[0])
    probabilities = MODEL.predict_proba([flower.X])[0]
    return {
        "prediction": CLASSES[class_id],
        "class_id": class_id,
        "probabilities": dict(zip(CLASSES, probabilities.tolist(), strict=True)),
    }


@app.get("/health/ready")
def ready() -> dict:
    return {"status": "ready"}


if __name__ == "__main__":
    uvicorn.run(app, host=os.environ.get("PREDIRIS_HOST", "127.0.0.1"), port=int(os.environ["PREDIRIS_PORT"]), log_level="warning")
