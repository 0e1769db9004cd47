"""The inference server: FastAPI, Open Inference Protocol v2, on the shared serving core.

Run it from the repository root with ``uvicorn TP_Docker.app:app`` or, from anywhere,
``python TP_Docker/app.py`` (which reads host, port and workers from the settings).
``create_app(settings)`` builds everything (models, metrics registry, routes, error
handlers, middleware); the module-level ``app`` exists only for uvicorn, Docker and Vercel.
Models load in the lifespan, never at import.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

if __package__ in (None, ""):  # `python TP_Docker/app.py`: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import logging

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from TP_Docker.errors import document_error_responses, install_error_handlers
from TP_Docker.fast_path import InferFastPath
from TP_Docker.middleware import AccessMiddleware, RequestContextMiddleware
from TP_Docker.routes import monitoring, predict, repository, v2
from TP_Docker.serving import Serving
from TP_Docker.settings import Settings
from utils import __version__
from utils.errors import ConfigurationError
from utils.monitoring.logging import configure_logging
from utils.settings_loading import load_settings

logger = logging.getLogger("TP_Docker")

DESCRIPTION = """\
Open Inference Protocol v2 (KServe / Triton REST) for the models of a Triton-layout
repository, plus `/predict` for plain JSON and `/metrics` for Prometheus.
Send the API key as `X-API-Key` (or `Authorization: Bearer`) when the server has one."""


def _open_paths(settings: Settings) -> frozenset[str]:
    paths: set[str] = set()
    if settings.public_health:
        paths |= {"/v2/health/live", "/v2/health/ready"}
    if settings.public_metrics:
        paths.add("/metrics")
    if settings.public_docs:
        paths |= {"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
    return frozenset(paths)


def _announce_security(settings: Settings) -> None:
    if not settings.api_key_list:
        logger.warning(
            "AUTH IS OFF: no API key configured, anyone who reaches this port can use the "
            "models. Set API_API_KEYS=<key1>,<key2> before exposing the server."
        )
    if not settings.admin_key:
        logger.info("repository load/unload disabled (set API_ADMIN_KEY to enable it)")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (read from ``API_*`` environment variables if None)."""
    settings = settings or load_settings(Settings)
    configure_logging(settings.log_level, json_lines=settings.log_json)
    serving = Serving(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        _announce_security(settings)
        await serving.start()
        yield
        await serving.stop()

    app = FastAPI(
        title="AI Model Deployment Tools: inference server",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        # Our own Prometheus metrics and JSON logs cover this; FastAPI's native
        # OpenTelemetry check alone cost ~18 us per request in the profile.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.serving = serving
    install_error_handlers(app)
    for module in (v2, repository, predict, monitoring):
        app.include_router(module.router)
    document_error_responses(app)

    # add_middleware wraps from the inside out: the last one added is the outermost.
    app.add_middleware(InferFastPath, serving=serving)
    keys = settings.api_key_list
    if keys and settings.admin_key:
        keys = [*keys, settings.admin_key]
    app.add_middleware(
        AccessMiddleware,
        api_keys=keys,
        rate_limit=settings.rate_limit,
        open_paths=_open_paths(settings),
    )
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST"],
            allow_headers=[
                "content-type",
                "x-api-key",
                "authorization",
                "x-request-id",
                "inference-header-content-length",
            ],
            expose_headers=["x-request-id", "retry-after", "inference-header-content-length"],
        )
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        metrics=serving.metrics,
        access_log=serving.access_log,
    )
    return app


def main() -> None:
    """Serve with uvicorn (uvloop + httptools when installed) on the settings' address.

    ``API_FD`` (an inherited listening socket) wins over host and port when set.
    """
    import uvicorn

    settings = load_settings(Settings)
    uvicorn.run(
        "TP_Docker.app:app",
        host=settings.host,
        port=settings.port,
        fd=settings.fd,
        workers=settings.workers,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=int(settings.drain_timeout_s) + 1,
    )


if __name__ == "__main__":
    try:
        main()
    except ConfigurationError as exc:
        raise SystemExit(f"error: {exc}") from None
elif __name__ != "__mp_main__":  # uvicorn's worker processes re-run this file under that name
    try:
        app = create_app()
    except ConfigurationError as exc:  # one line for the operator, not a traceback
        raise SystemExit(f"error: {exc}") from None
