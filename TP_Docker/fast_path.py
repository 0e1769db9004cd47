"""The API's one v2 infer implementation, as plain ASGI ahead of FastAPI's router.

Profiled in-process, FastAPI's routing (a regex test per route, twenty routes), its
dependency solving and the ``Request`` object cost more CPU per request than parsing,
validating and running a tiny model together. So ``POST
/v2/models/{name}[/versions/{v}]/infer`` is answered here, by reading the body and calling
the data plane's ``infer_v2`` door; there is no FastAPI route for it (the OpenAPI
description of these two paths is added by ``openapi.py``). It sits inside the access
middleware: auth, rate limits, CORS, request ids, logs and metrics still apply.

Model names and versions are matched on the raw path: ``/versions/%31`` is not version 1
(a name that needs percent-encoding names no model), so every spelling of a resource but
the canonical one is a 404, here and on the metadata routes.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from TP_Docker.errors import error_parts, send_error
from utils.deployment_helpers.dataplane import DataPlane
from utils.deployment_helpers.observation import RequestContext
from utils.errors import ModelNotFound, ToolkitError
from utils.monitoring.logging import request_id_var

INFER = re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?/infer$")


class InferFastPath:
    """Serve v2 infer requests directly; pass everything else to the app."""

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
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = INFER.match(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        content_type: str | None = None
        header_length: str | None = None
        for key, value in scope["headers"]:
            if key == b"content-type":
                content_type = value.decode("latin-1")
            elif key == b"inference-header-content-length":
                header_length = value.decode("latin-1")
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        context = RequestContext(
            request_id_var.get() or "unknown", scope.get("client_id", "anonymous"), "v2"
        )
        try:
            payload, headers = await self.plane.infer_v2(
                match.group(1),
                match.group(2),
                body,
                content_type=content_type,
                header_length=header_length,
                context=context,
            )
        except ToolkitError as exc:
            await send_error(send, *error_parts(exc))
            return
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        raw.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        await send({"type": "http.response.body", "body": payload})


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
