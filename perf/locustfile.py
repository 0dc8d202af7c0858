"""The `predict` scenario for Taurus's locust executor (`invoke perf --executor locust`).

Taurus's own locust generator cannot send our CSV-driven bodies (it neither reads data sources nor
escapes string bodies), so this script does what perf/predict.yml asks of JMeter: POST each line
of perf/data/predict-requests.csv in turn, and fail a sample unless it is a 200 whose JSON holds
one known species per row sent. Run it from the repository root (paths are relative to it).
"""

import itertools
import os

from locust import FastHttpUser, constant, task

from prediris_ops.load.requests import REQUESTS_CSV, read_requests_csv, reply_problem

REQUESTS = read_requests_csv(os.environ.get("PREDIRIS_PERF_REQUESTS", REQUESTS_CSV))
HEADERS = {"Content-Type": "application/json"}


class PredictUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        # Each user walks the mix from its own offset, like JMeter threads sharing one CSV reader.
        self.lines = itertools.islice(itertools.cycle(REQUESTS), id(self) % len(REQUESTS), None)

    @task
    def predict(self):
        line = next(self.lines)
        with self.client.post("/predict", data=line["body"], headers=HEADERS, name="POST /predict", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            else:
                problem = reply_problem(response.content, line["rows"])
                if problem:
                    response.failure(problem)
