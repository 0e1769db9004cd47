"""Vercel's entry point: the FastAPI inference server as one Python (ASGI) function.

Vercel's Python runtime imports this file and calls its module-level ``app`` once per
request, each time inside a fresh ``asyncio.run`` and WITHOUT the ASGI lifespan (read
``vc__handler__python.py`` in a built bundle). So, unlike uvicorn and the Docker image:

- the models are loaded here, at import (the function's cold start), not in the lifespan;
- dynamic batching is off: a batcher's queue lives on one event loop, and every request
  here runs on a new one (requests go straight to the onnxruntime thread pool);
- the per-client rate limit is off unless ``API_RATE_LIMIT`` is set: put Vercel's own
  firewall in front instead (its in-memory counters would be per instance anyway);
- the prediction log is off unless ``API_PREDICTION_LOG_URL`` names a database: the
  function's disk is read-only but for an ephemeral, per-instance ``/tmp``, so the
  default SQLite file could not be shared or kept. With a URL (a hosted PostgreSQL), each
  record is committed before the answer leaves (``synchronous``, unless
  ``API_PREDICTION_LOG_DURABILITY`` says otherwise): an instance can be frozen or dropped
  right after answering, and no lifespan runs to flush a queue.

Everything else (routes, validation, auth, metrics) is the app that ``create_app()`` builds
for uvicorn. Only requirements.txt (serving dependencies) is installed in the bundle, and
vercel.json leaves tests, training code and other apps out of it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The bundle keeps the repository's layout: put its root on sys.path, as every TP does.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi import FastAPI

from TP_Docker.app import create_app
from TP_Docker.settings import Settings
from utils.monitoring.prediction_log import Durability
from utils.settings_loading import load_settings


def serverless_settings() -> Settings:
    """The environment's settings, with what cannot work in a serverless function off."""
    overrides: dict[str, object] = {"batching": False}
    if "API_RATE_LIMIT" not in os.environ:
        overrides["rate_limit"] = ""
    if not os.environ.get("API_PREDICTION_LOG_URL"):
        overrides["prediction_log"] = False
    elif "API_PREDICTION_LOG_DURABILITY" not in os.environ:
        overrides["prediction_log_durability"] = Durability.SYNCHRONOUS
    return load_settings(Settings).model_copy(update=overrides)


def create_serverless_app() -> FastAPI:
    """Build the app and load its models now, since no lifespan will run."""
    application = create_app(serverless_settings())
    application.state.plane.load_models()
    return application


app = create_serverless_app()
