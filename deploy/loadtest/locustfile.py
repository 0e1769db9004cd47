"""Load test of the two front ends with Locust: the v2 API and the Flask page's JSON API.

    make serve                      # terminal 1: the API on http://127.0.0.1:8000
    make loadtest                   # terminal 2: 20 users for 30 s, report in out/loadtest/

or by hand (``--headless`` for no web UI; without it open http://127.0.0.1:8089)::

    locust -f deploy/loadtest/locustfile.py InferenceApiUser --host http://127.0.0.1:8000
    locust -f deploy/loadtest/locustfile.py FlaskApiUser --host http://127.0.0.1:5000

Each simulated user sends one held-out digit per request and waits 0 to 50 ms between
requests (``LOADTEST_WAIT_MS``), so N users offer at most about N x 40 requests per second:
unlike wrk (``make bench-serve``), which measures the most a server can answer, Locust
measures how a given crowd is served (percentiles, failures) and can mix request kinds.
``LOADTEST_MODEL`` picks the v2 model (default ``digits_sklearn``, inputs [1, 64]).
"""

from __future__ import annotations

import importlib.util
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
from locust import FastHttpUser, between, task

MODEL = os.environ.get("LOADTEST_MODEL", "digits_sklearn")
WAIT_S = float(os.environ.get("LOADTEST_WAIT_MS", "50")) / 1000


def load_digits_images(count: int = 200) -> list[list[list[float]]]:
    """8x8 digits in [0, 1] from the CSV inside scikit-learn's wheel, read without
    importing scikit-learn: a slow import here delays gevent's clock, and Locust's
    ``--run-time`` then ends the test before it starts (seen: 10 s runs lasting 30 ms)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the load test reads the digits shipped with scikit-learn: install it")
    data = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    rows = np.loadtxt(data, delimiter=",", max_rows=count)
    return [(row[:64] / 16.0).reshape(8, 8).tolist() for row in rows]


DIGITS = load_digits_images()


def v2_request(image: list[list[float]]) -> dict[str, Any]:
    flat = [value for row in image for value in row]
    return {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 64], "data": flat}]}


class InferenceApiUser(FastHttpUser):
    """A client of the FastAPI server: ``POST /v2/models/{model}/infer``."""

    host = "http://127.0.0.1:8000"
    wait_time = between(0, WAIT_S)

    @task
    def infer(self) -> None:
        body = v2_request(random.choice(DIGITS))
        self.client.post(f"/v2/models/{MODEL}/infer", json=body, name="/v2/models/[model]/infer")


class FlaskApiUser(FastHttpUser):
    """A client of the Flask page's JSON API: ``POST /api/predict``."""

    host = "http://127.0.0.1:5000"
    wait_time = between(0, WAIT_S)

    @task
    def predict(self) -> None:
        self.client.post("/api/predict", json={"inputs": random.choice(DIGITS)})
