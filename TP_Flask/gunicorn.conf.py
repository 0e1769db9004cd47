"""gunicorn settings for the Flask page.

    gunicorn -c TP_Flask/gunicorn.conf.py 'TP_Flask.app:create_app()'

This file runs once, in gunicorn's master process, before the workers fork. That is why
the secret key is made here when none is set: every worker inherits the same
WEB_SECRET_KEY, so a CSRF token issued by one worker is accepted by the other. (Each
worker calling create_app() alone would invent its own key, and half the form posts
would fail.)

Host, port, workers, threads and trusted proxies come from the app's own
:class:`TP_Flask.settings.Settings` (WEB_HOST, WEB_PORT or PORT, WEB_WORKERS,
WEB_THREADS, FORWARDED_ALLOW_IPS): one typed source, so a malformed value stops the
master with one line naming the variable instead of a traceback. Every value can still
be overridden on the command line or by GUNICORN_CMD_ARGS (e.g. ``--bind fd://3``).
"""

import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # TP_Flask and utils, any cwd

from TP_Flask.settings import Settings
from utils.errors import ConfigurationError
from utils.settings_loading import load_settings

os.environ.setdefault("WEB_SECRET_KEY", secrets.token_urlsafe(32))

try:
    _settings = load_settings(Settings)
except ConfigurationError as exc:
    # SystemExit passes through gunicorn's config loader, which would print a traceback
    # for any Exception.
    raise SystemExit(f"error: {exc}") from None

# Under gunicorn (a container, behind nginx) the page listens on every interface unless
# WEB_HOST says otherwise; the development server's default stays 127.0.0.1.
_host = _settings.host if "host" in _settings.model_fields_set else "0.0.0.0"
bind = f"{_host}:{_settings.port}"
workers = _settings.workers
# Threads: onnxruntime releases the GIL, and a slow upload does not block a whole worker.
worker_class = "gthread"
threads = _settings.threads
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 5000  # recycle workers now and then: bounded memory over weeks
max_requests_jitter = 500
accesslog = None  # the app writes one structured line per request itself
errorlog = "-"
forwarded_allow_ips = _settings.forwarded_allow_ips


def worker_exit(server: object, worker: object) -> None:
    """A worker leaves (SIGTERM, max_requests): drain its requests and write every record
    its prediction log accepted, while gunicorn still logs (the app's atexit handler would
    do it later, at interpreter exit; the second call does nothing)."""
    from TP_Flask.services import EXTENSION_KEY

    app = getattr(worker, "wsgi", None)
    services = getattr(app, "extensions", {}).get(EXTENSION_KEY)
    if services is not None:
        services.shutdown()
