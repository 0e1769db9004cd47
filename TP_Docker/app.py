"""The inference server: FastAPI, Open Inference Protocol v2, a door onto the data plane.

Run it with ``python TP_Docker/app.py`` (from anywhere; host, port, workers, the proxy
addresses to trust and the connection guards come from the ``API_*`` settings), or
``python TP_Docker/app.py --help``. ``create_app(settings)`` builds everything (the data
plane, metrics registry, routes, error handlers, middleware); the module-level ``app``
exists only for uvicorn, Docker and Vercel. Models load in the lifespan, never at import.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

if __package__ in (None, ""):  # `python TP_Docker/app.py`: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import logging

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

from TP_Docker.errors import install_error_handlers
from TP_Docker.fast_path import InferDoor, InferFastPath
from TP_Docker.middleware import (
    AccessGate,
    AccessMiddleware,
    HttpContext,
    RequestContextMiddleware,
)
from TP_Docker.openapi import install_openapi
from TP_Docker.routes import feedback, monitoring, predict, repository, v2
from TP_Docker.settings import Settings
from utils import __version__
from utils.deployment_helpers.auth import ApiKeys
from utils.deployment_helpers.dataplane import DataPlane
from utils.deployment_helpers.forwarding import TrustedProxies
from utils.errors import ConfigurationError
from utils.monitoring.logging import AccessLog, configure_logging
from utils.monitoring.metrics import ServingMetrics
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


class ServingApp(FastAPI):
    """FastAPI with the infer door ahead of its middleware stack (``fast_path.py``)."""

    door: InferDoor | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        door = self.door
        if door is not None:
            match = door.match(scope)
            if match is not None:
                await door.serve(scope, receive, send, match)
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> ServingApp:
    """Build the app for ``settings`` (read from ``API_*`` environment variables if None)."""
    settings = settings or load_settings(Settings)
    configure_logging(settings.log_level, json_lines=settings.log_json)
    metrics = ServingMetrics()
    # Every request of every door goes to the monitor (prediction log, drift, accuracy,
    # business metrics), whose metrics share the plane's registry: one /metrics.
    monitor = settings.open_monitor(metrics.registry)
    plane = DataPlane(settings.data_plane(), metrics=metrics, observers=[monitor.observe_outcome])
    monitor.follow(plane.repository.loaded)
    json_lines = settings.log_json if settings.log_json is not None else not sys.stderr.isatty()
    access_log = (
        AccessLog(json_lines=json_lines, logger_name="TP_Docker.access")
        if settings.access_log
        else None
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        _announce_security(settings)
        await plane.start()
        yield
        await plane.stop()
        monitor.close()  # after the drain: every accepted record, drained ones too, is written
        if access_log is not None:
            access_log.close()

    app = ServingApp(
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
    keys = ApiKeys.from_settings(settings.api_key_list, settings.admin_key)
    app.state.plane = plane
    app.state.monitor = monitor
    app.state.settings = settings
    app.state.api_keys = keys
    install_error_handlers(app)
    for module in (v2, repository, predict, feedback, monitoring):
        app.include_router(module.router)
    install_openapi(app)

    context = HttpContext(
        max_body_bytes=settings.max_body_bytes,
        metrics=plane.metrics,
        access_log=access_log,
        proxies=TrustedProxies.parse(settings.forwarded_allow_list),
    )
    gate = AccessGate(keys=keys, rate_limit=settings.rate_limit, open_paths=_open_paths(settings))
    # add_middleware wraps from the inside out: the last one added is the outermost.
    app.add_middleware(InferFastPath, plane=plane)
    app.add_middleware(AccessMiddleware, gate=gate)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST"],
            allow_headers=[
                "content-type",
                "x-api-key",
                "x-admin-key",
                "authorization",
                "x-request-id",
                "inference-header-content-length",
            ],
            expose_headers=["x-request-id", "retry-after", "inference-header-content-length"],
        )
    app.add_middleware(RequestContextMiddleware, context=context)
    # Infer requests skip the stack: the same context and checks, in one coroutine.
    app.door = InferDoor(plane, context=context, gate=gate, cors=bool(settings.cors_origin_list))
    return app


def uvicorn_options(settings: Settings) -> dict[str, object]:
    """How every launcher runs the app under uvicorn: the guarded protocol (read timeout,
    connection cap), uvicorn's own proxy-header handling OFF (the app trusts
    ``X-Forwarded-For`` only from ``API_FORWARDED_ALLOW_IPS``), our access log only."""
    from TP_Docker.http_protocol import configure

    return {
        "http": configure(
            read_timeout_s=settings.request_read_timeout_s,
            max_connections=settings.max_connections,
        ),
        "proxy_headers": False,
        "access_log": False,
        "log_config": None,
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "timeout_graceful_shutdown": int(settings.drain_timeout_s) + 1,
    }


def main(argv: list[str] | None = None) -> None:
    """Serve with uvicorn (uvloop + httptools) on the settings' address.

    ``API_FD`` (an inherited listening socket) wins over host and port when set.
    """
    parser = argparse.ArgumentParser(
        prog="python TP_Docker/app.py",
        description="The FastAPI inference server (Open Inference Protocol v2, /predict, "
        "/metrics) on the model repository. Every option is an API_* environment "
        "variable: see TP_Docker/README.md.",
    )
    parser.add_argument("--host", help="interface to bind (default: API_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: API_PORT or 8000)")
    args = parser.parse_args(argv)
    import uvicorn

    settings = load_settings(Settings)
    uvicorn.run(
        "TP_Docker.app:app",
        host=args.host or settings.host,
        port=args.port if args.port is not None else settings.port,
        fd=settings.fd,
        workers=settings.workers,
        **uvicorn_options(settings),  # type: ignore[arg-type]
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
