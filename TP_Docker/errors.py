"""How the server answers an error: ``{"error": message}`` with the exception's status.

One renderer for :class:`~utils.errors.ToolkitError` serves both the FastAPI handler and
the pure-ASGI middleware (which sits outside FastAPI's handlers), so every refusal looks
the same. Framework errors (an unknown route, a body that fails /predict's schema) are
rendered the same way: a body that fails a route's schema is a 400, as in Flask. Anything
else is a 500 carrying only the request id: the stack trace goes to the log, never to the
client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Send

from utils.errors import BadInput, Overloaded, ToolkitError, error_body, retry_after_s
from utils.monitoring.logging import request_id_var

logger = logging.getLogger(__name__)


def error_parts(exc: ToolkitError) -> tuple[int, dict[str, str], bytes]:
    """Status, extra headers (Retry-After when the client should come back) and body."""
    headers: dict[str, str] = {}
    retry = retry_after_s(exc)
    if retry is not None:
        headers["retry-after"] = str(retry)
    return int(exc.status), headers, orjson.dumps(error_body(exc, request_id_var.get()))


def internal_error_body() -> bytes:
    """The body of a 500: an apology and the request id to quote, nothing else."""
    rid = request_id_var.get() or "unknown"
    return orjson.dumps({"error": f"internal server error; quote request id {rid}"})


async def send_error(
    send: Send,
    status: int,
    headers: dict[str, str],
    body: bytes,
    extra_headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    """Write a complete JSON error response from ASGI middleware (``extra_headers``: raw
    ones to add, such as the request id)."""
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.encode(), v.encode()) for k, v in headers.items()),
        *extra_headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _json(status: int, body: bytes, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def _toolkit_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ToolkitError)
    status, headers, body = error_parts(exc)
    if status >= 500 and not isinstance(exc, Overloaded):
        logger.error("request failed", extra={"error": exc.message, "status": status})
    return _json(status, body, headers)


def validation_error_as_bad_input(exc: RequestValidationError) -> BadInput:
    """A body that fails a route's schema is bad input like any other: 400, as Flask says.

    FastAPI's own answer is 422 with a list of pydantic errors; the Flask app answers the
    same mistake with 400 and one message, and a client should not need to know which
    server it talks to. The first error is enough to fix the request: ``<field>: <msg>``.
    """
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    message = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    return BadInput(message)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return await _toolkit_error(request, validation_error_as_bad_input(exc))


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return _json(exc.status_code, orjson.dumps({"error": str(exc.detail)}), exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers: ToolkitError, plus the two framework errors, same shape."""
    app.add_exception_handler(ToolkitError, _toolkit_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
