"""The API's one v2 infer implementation, as plain ASGI ahead of FastAPI.

Profiled in-process, FastAPI's routing (a regex test per route, twenty routes), its
dependency solving and the ``Request`` object cost more CPU per request than parsing,
validating and running a tiny model together; so did each wrapper around the app (Starlette's
error middleware, FastAPI's telemetry and body-limit wrappers, and every middleware's
closures). So ``POST /v2/models/{name}[/versions/{v}]/infer`` has no FastAPI route. It is
answered by :func:`answer_infer` (read the body, call the data plane's ``infer_v2`` door,
write the response), reached two ways:

- :class:`InferDoor`, the app's first step (``ServingApp.__call__``): one flat coroutine
  that applies the same request context (``HttpContext``: request id, client address, body
  limit, HTTP counter, access log) and the same access checks (``AccessGate``: key, rate)
  as the middleware, from the same objects, without the layers;
- :class:`InferFastPath`, inside the middleware stack, for what the door leaves to it: a
  request carrying an ``Origin`` header when CORS is configured (CORS decorates the
  answer), and the 404 of a percent-encoded model path on every method.

Model names and versions are matched on the raw path: ``/versions/%31`` is not version 1
(a name that needs percent-encoding names no model), so every spelling of a resource but
the canonical one is a 404, here and on the metadata routes.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from TP_Docker.errors import error_parts, send_error
from TP_Docker.middleware import AccessGate, HttpContext, read_body
from utils.deployment_helpers.dataplane import JSON_HEADERS, DataPlane
from utils.deployment_helpers.observation import RequestContext
from utils.errors import ModelNotFound, ToolkitError
from utils.monitoring.logging import request_id_var

INFER = re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?/infer$")

JSON_CONTENT_TYPE = (b"content-type", b"application/json")

NO_LIMIT = 1 << 62
"""Body limit of :func:`read_body` inside the middleware stack, which enforces its own."""


def infer_match(scope: Scope) -> re.Match[str] | None:
    """The (name, version) of a v2 infer request on its canonical path, else None."""
    if scope["method"] != "POST":
        return None
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    if b"%" in raw_path:
        return None
    return INFER.match(scope["path"])


async def answer_infer(
    plane: DataPlane,
    scope: Scope,
    match: re.Match[str],
    body: bytes,
    send: Send,
    extra_headers: tuple[tuple[bytes, bytes], ...] = (),
    headers: dict[bytes, bytes] | None = None,
) -> int:
    """Run one infer request through the data plane and write its answer; the status.

    ``headers``: the scope's headers by name, when the caller has read them already."""
    if headers is None:
        headers = dict(scope["headers"])
    content_type = headers.get(b"content-type")
    header_length = headers.get(b"inference-header-content-length")
    context = RequestContext(
        request_id_var.get() or "unknown", scope.get("client_id", "anonymous"), "v2"
    )
    try:
        payload, answer_headers = await plane.infer_v2(
            match.group(1),
            match.group(2),
            body,
            content_type=content_type.decode("latin-1") if content_type is not None else None,
            header_length=header_length.decode("latin-1") if header_length is not None else None,
            context=context,
        )
    except ToolkitError as exc:
        return await _send_refusal(send, exc, extra_headers)
    raw = (
        [JSON_CONTENT_TYPE]
        if answer_headers is JSON_HEADERS
        else [(k.encode(), v.encode()) for k, v in answer_headers.items()]
    )
    raw.append((b"content-length", str(len(payload)).encode()))
    raw.extend(extra_headers)
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
    return 200


async def _send_refusal(
    send: Send, exc: ToolkitError, extra_headers: tuple[tuple[bytes, bytes], ...]
) -> int:
    status, headers, body = error_parts(exc)
    await send_error(send, status, headers, body, extra_headers)
    return status


class InferDoor:
    """The flat path of infer requests: see the module docstring."""

    def __init__(
        self, plane: DataPlane, *, context: HttpContext, gate: AccessGate, cors: bool
    ) -> None:
        self.plane = plane
        self.context = context
        self.gate = gate
        self.cors = cors

    def match(self, scope: Scope) -> re.Match[str] | None:
        """The request's infer match when this door serves it, else None."""
        if scope["type"] != "http":
            return None
        match = infer_match(scope)
        if match is None or (self.cors and any(k == b"origin" for k, _ in scope["headers"])):
            return None
        return match

    async def serve(self, scope: Scope, receive: Receive, send: Send, match: re.Match[str]) -> None:
        """Request context, access checks, body, data plane, answer: in one coroutine."""
        context = self.context
        exchange = context.begin(scope)
        extra = (exchange.id_header,)
        try:
            context.check_declared_length(exchange)
            await self.gate.admit(scope, exchange.headers)
            body = await read_body(receive, context.max_body_bytes)
            if body is not None:
                exchange.status = await answer_infer(
                    self.plane, scope, match, body, send, extra, exchange.headers
                )
        except Exception as exc:
            await context.answer_failure(scope, exchange, send, exc, extra)
        finally:
            context.end(scope, exchange)


class InferFastPath:
    """Inside the middleware stack: answer infer requests the door left to the stack, and
    refuse percent-encoded model paths; pass everything else to the app."""

    def __init__(self, app: ASGIApp, *, plane: DataPlane) -> None:
        self.app = app
        self.plane = plane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        if raw_path.startswith(b"/v2/models/") and b"%" in raw_path:
            await send_error(send, *error_parts(_not_canonical(raw_path)))
            return
        match = infer_match(scope)
        if match is None:
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, NO_LIMIT)  # the stack's receive enforces the limit
        if body is not None:
            await answer_infer(self.plane, scope, match, body, send)


def _not_canonical(raw_path: bytes) -> ModelNotFound:
    """The 404 for a percent-encoded model name or version, naming the segment as sent."""
    parts = raw_path.decode("latin-1").split("/")  # "", "v2", "models", name, ...
    name = parts[3] if len(parts) > 3 else ""
    if "%" not in name and len(parts) > 5 and parts[4] == "versions":
        return ModelNotFound(
            f"model {name!r} has no version {parts[5][:20]!r}: versions are written 1, 2, ..."
        )
    return ModelNotFound(
        f"no model is named {name[:40]!r}: model names are plain ASCII (letters, digits, '_', "
        "'.', '-'), sent without percent-encoding"
    )
