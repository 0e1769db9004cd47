"""One place that turns every failure into an answer: JSON for programs, a page for people.

- :class:`~utils.errors.ToolkitError` keeps its own status (the FastAPI app maps the same
  class to the same code) and its message, which is written to be shown.
- werkzeug's HTTP errors (404, 405, 413 from the upload limit, 429 from the rate limiter,
  400 from a missing CSRF token) get a message that says what to do.
- Anything else is a bug: logged with its traceback, answered 500 with the request id and
  no stack trace.

Who gets JSON: every ``/api/`` route, and any request whose ``Accept`` prefers JSON (the
page's own scripts send ``Accept: application/json``). Everyone else gets a page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from TP_Flask.request_log import current_request_id
from TP_Flask.responses import wants_json
from utils.errors import ToolkitError, error_body, retry_after_s

logger = logging.getLogger("tp_flask.errors")

PAGE_ENDPOINTS_WITH_FORM = frozenset({"page.predict", "page.similarity"})
"""Errors of these form posts are shown on the prediction page itself, beside the form."""


def _friendly_http_message(exc: HTTPException, max_upload_bytes: int) -> str:
    code = exc.code or 500
    if isinstance(exc, CSRFError):
        return (
            "The form expired or did not come from this page (missing or invalid CSRF "
            "token). Reload the page and try again."
        )
    if code == HTTPStatus.NOT_FOUND:
        return f"There is nothing at {request.path}. The prediction page is at /."
    if code == HTTPStatus.METHOD_NOT_ALLOWED:
        return f"{request.method} is not allowed on {request.path}."
    if code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
        return (
            f"The upload is larger than the {max_upload_bytes / (1024 * 1024):.1f} MB limit: "
            "send a smaller image (a few hundred KB is plenty for a digit)."
        )
    if code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE:
        return "This kind of file or body is not accepted: send a PNG or JPEG image, or JSON."
    if code == HTTPStatus.TOO_MANY_REQUESTS:
        return f"Too many requests ({exc.description}). Wait a little and try again."
    if code == HTTPStatus.BAD_REQUEST:
        return "The request could not be read: check the fields you send."
    return exc.description or HTTPStatus(code).phrase


FormPage = Callable[[str], str]
"""Renders the prediction page with an error message beside its form."""


def render_error(
    status: int,
    message: str,
    *,
    retry_after: int | None = None,
    form_page: FormPage | None = None,
    body: dict[str, str] | None = None,
) -> Response:
    """Answer ``{"error": message}`` or a page, with ``status`` and the request id."""
    if wants_json():
        response = jsonify(body or {"error": message})
    else:
        sentence = message[:1].upper() + message[1:]
        if form_page is not None and request.endpoint in PAGE_ENDPOINTS_WITH_FORM:
            response = Response(form_page(sentence))
        else:
            response = Response(
                render_template(
                    "error.html",
                    status=status,
                    phrase=HTTPStatus(status).phrase,
                    message=sentence,
                    request_id=current_request_id(),
                )
            )
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def init_app(app: Flask, *, max_upload_bytes: int, form_page: FormPage) -> None:
    """Register the three handlers (toolkit errors, HTTP errors, everything else).

    ``form_page`` shows a form's error on the page itself (the page blueprint passes its
    renderer in: this module imports no blueprint).
    """

    @app.errorhandler(ToolkitError)
    def _toolkit_error(exc: ToolkitError) -> Response:
        status = int(exc.status)
        log = logger.error if status >= 500 and status != 503 else logger.info
        log(
            "request refused",
            extra={"error": type(exc).__name__, "status": status, "reason": str(exc)},
        )
        body = error_body(exc, current_request_id())
        return render_error(
            status,
            body["error"],
            retry_after=retry_after_s(exc),
            form_page=form_page,
            body=body,
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        # 429: Flask-Limiter adds Retry-After and X-RateLimit-* to this response itself.
        return render_error(
            exc.code or 500,
            _friendly_http_message(exc, max_upload_bytes),
            form_page=form_page,
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error", extra={"error": type(exc).__name__})
        return render_error(
            500,
            "Something went wrong on our side; it was logged. "
            f"Quote request id {current_request_id()} when you report it.",
        )
