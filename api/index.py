"""Vercel's entry point: the FastAPI inference server as one Python (ASGI) function.

Vercel's Python runtime imports this file and calls its module-level ``app`` once per
request, each time inside a fresh ``asyncio.run`` and WITHOUT the ASGI lifespan (read
``vc__handler__python.py`` in a built bundle). So, unlike uvicorn and the Docker image:

- the models are loaded here, at import (the function's cold start), not in the lifespan;
- dynamic batching is off: a batcher's queue lives on one event loop, and every request
  here runs on a new one (requests go straight to the onnxruntime thread pool);
- the per-client rate limit is off unless ``API_RATE_LIMIT`` is set: put Vercel's own
  firewall in front instead (its in-memory counters would be per instance anyway).

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
from utils.settings_loading import load_settings


def serverless_settings() -> Settings:
    """The environment's settings, with what cannot work in a serverless function off."""
    overrides: dict[str, object] = {"batching": False}
    if "API_RATE_LIMIT" not in os.environ:
        overrides["rate_limit"] = ""
    return load_settings(Settings).model_copy(update=overrides)


def create_serverless_app() -> FastAPI:
    """Build the app and load its models now, since no lifespan will run."""
    application = create_app(serverless_settings())
    application.state.plane.load_models()
    return application


app = create_serverless_app()
