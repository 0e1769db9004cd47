"""Security headers, CSRF protection and rate limiting, plugged in with :func:`init_app`.

The Content-Security-Policy is strict on purpose: scripts and styles come only from our
own ``/static`` files (no inline ``<script>``, no ``style=""`` attribute, no third-party
host), so an injected tag cannot run. The pages are written to satisfy it, and the
browser tests fail on any CSP violation reported in the console.

CSRF: every form post of the page carries Flask-WTF's token (a hidden field, or the
``X-CSRFToken`` header for the page's scripts). The ``/api`` blueprint is exempt: it
holds no session and no cookie authenticates it, so a forged cross-site request gains
nothing a direct request would not; programs (curl, tests, other services) call it.

Rate limiting: Flask-Limiter, in memory, per client address and per worker; a limit
string such as ``"120 per minute"`` applies to each prediction route.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
"""``img-src blob:`` shows a chosen file before upload; ``data:`` is for canvas snapshots."""

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

RATE_LIMITED_ENDPOINTS = (
    "api.predict",
    "api.detect",
    "api.similarity",
    "page.predict",
    "page.detect",
    "page.predict_fields",
    "page.similarity",
)
"""The routes that run a model: the ones worth protecting from a flood."""


def init_app(app: Flask, *, rate_limit: str, csrf_exempt: Blueprint) -> tuple[CSRFProtect, Limiter]:
    """Protect ``app``; call it after the blueprints are registered.

    Returns the CSRF and limiter objects (they belong to this app only, so tests can build
    many apps without shared counters).
    """
    csrf = CSRFProtect(app)
    csrf.exempt(csrf_exempt)  # the JSON API; see the module docstring for why
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri="memory://",
        headers_enabled=True,
        enabled=bool(rate_limit),
    )
    if rate_limit:
        for endpoint in RATE_LIMITED_ENDPOINTS:
            view = app.view_functions.get(endpoint)
            if view is not None:
                app.view_functions[endpoint] = limiter.limit(rate_limit)(view)  # type: ignore[assignment]

    @app.after_request
    def _add_security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return csrf, limiter
