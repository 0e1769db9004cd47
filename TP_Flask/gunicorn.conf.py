"""gunicorn settings for the Flask page.

    gunicorn -c TP_Flask/gunicorn.conf.py 'TP_Flask.app:create_app()'

This file runs once, in gunicorn's master process, before the workers fork. That is why
the secret key is made here when none is set: every worker inherits the same
WEB_SECRET_KEY, so a CSRF token issued by one worker is accepted by the other. (Each
worker calling create_app() alone would invent its own key, and half the form posts
would fail.) Every value can be overridden on the command line or by GUNICORN_CMD_ARGS.
"""

import os
import secrets

os.environ.setdefault("WEB_SECRET_KEY", secrets.token_urlsafe(32))

_port = os.environ.get("PORT", os.environ.get("WEB_PORT", "5000"))
bind = f"{os.environ.get('WEB_HOST', '0.0.0.0')}:{_port}"
workers = int(os.environ.get("WEB_WORKERS", "2"))
# Threads: onnxruntime releases the GIL, and a slow upload does not block a whole worker.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 5000  # recycle workers now and then: bounded memory over weeks
max_requests_jitter = 500
accesslog = None  # the app writes one structured line per request itself
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
