"""The Flask app: an interactive prediction page, a JSON API and a live monitoring page.

Run it:   python TP_Flask/app.py               (http://127.0.0.1:5000, committed models/)
          python TP_Flask/app.py --port 8080   (or PORT=8080 / WEB_PORT=8080)
Serve it: gunicorn -c TP_Flask/gunicorn.conf.py 'TP_Flask.app:create_app()'

``create_app(settings)`` builds everything (flaskr's factory): the model repository with
the same data plane as the FastAPI app (one request path: batching, metrics, request ids,
errors), the blueprints (page, api, monitoring), the error handler, security headers,
CSRF, rate limits and request logging, and the model monitor (prediction log, drift,
feedback; the data plane's observer). Nothing happens at import: the models load when
the factory is called.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: put the project root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import atexit
import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from TP_Flask import api, error_pages, monitoring, page, request_log, security
from TP_Flask.services import EXTENSION_KEY, Services
from TP_Flask.settings import Settings
from utils.deployment_helpers.dataplane import DataPlane
from utils.errors import ConfigurationError
from utils.monitoring.logging import AccessLog, configure_logging
from utils.monitoring.metrics import ServingMetrics
from utils.monitoring.system import SystemSampler
from utils.settings_loading import load_settings

logger = logging.getLogger("tp_flask.app")


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app for ``settings`` (read from the environment when None).

    The data plane loads the repository here, once per process, and starts its own event
    loop in a background thread (its sync door): a version that fails its checksum or its
    warm-up is listed as UNAVAILABLE and the others serve.
    """
    settings = settings or load_settings(Settings)
    json_lines = None if settings.log_format == "auto" else settings.log_format == "json"
    configure_logging(settings.log_level, json_lines=json_lines)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key.get_secret_value(),
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session cookie
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    metrics = ServingMetrics()
    # Every request goes to the prediction log that every worker (and the API) writes; the
    # monitoring page and /metrics read it back, so each worker shows the whole deployment.
    monitor = settings.open_monitor(metrics.registry)
    plane = DataPlane(settings.data_plane(), metrics=metrics, observers=[monitor.observe_outcome])
    monitor.follow(plane.repository.loaded)
    plane.start_background()
    services = Services(
        settings=settings,
        plane=plane,
        monitor=monitor,
        system=SystemSampler(),
        access_log=AccessLog(
            json_lines=json_lines if json_lines is not None else not sys.stderr.isatty(),
            logger_name="tp_flask.access",
        ),
    )
    app.extensions[EXTENSION_KEY] = services
    # Drain queued requests, then flush the log, when the process exits (gunicorn's
    # worker_exit hook in gunicorn.conf.py calls the same, once).
    atexit.register(services.shutdown)

    app.register_blueprint(page.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(monitoring.bp)
    app.register_blueprint(monitoring.metrics_bp)
    request_log.init_app(app, plane.metrics, services.access_log)
    security.init_app(app, rate_limit=settings.rate_limit, csrf_exempt=api.bp)
    error_pages.init_app(
        app,
        max_upload_bytes=settings.max_upload_bytes,
        form_page=lambda message: page.render_index(error=message),
    )

    ready = [s for s in plane.index() if s.state == "READY"]
    logger.info(
        "app ready",
        extra={
            "repository": str(settings.model_repository),
            "ready_versions": len(ready),
            "models": sorted({s.name for s in ready}),
        },
    )
    return app


def main(argv: list[str] | None = None) -> None:
    """``python TP_Flask/app.py [--host H] [--port P]``: the development server."""
    parser = argparse.ArgumentParser(
        prog="python TP_Flask/app.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--host", help="interface to bind (default: WEB_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: WEB_PORT, PORT or 5000)")
    parser.add_argument("--models", type=Path, help="model repository (default: models/)")
    args = parser.parse_args(argv)
    overrides: dict[str, object] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.models:
        overrides["model_repository"] = args.models.resolve()
    settings = load_settings(Settings).model_copy(update=overrides)
    app = create_app(settings)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # we log each request ourselves
    print(f"Prediction page:  http://{settings.host}:{settings.port}/")
    print(f"Monitoring page:  http://{settings.host}:{settings.port}/monitoring")
    print(f"JSON API:         http://{settings.host}:{settings.port}/api/models")
    app.run(host=settings.host, port=settings.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    try:
        main()
    except ConfigurationError as exc:  # one line naming the variable, not a traceback
        raise SystemExit(f"error: {exc}") from None
