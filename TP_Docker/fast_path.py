"""The v2 infer hot path as plain ASGI, ahead of FastAPI's router.

Profiled in-process, FastAPI's routing (a regex test per route, twenty routes), its
dependency solving and the ``Request`` object cost more CPU per request than parsing,
validating and running a tiny model together. This dispatcher answers ``POST
/v2/models/{name}[/versions/{v}]/infer`` itself with the same function the FastAPI route
calls (``run_infer``), so behaviour is identical and the OpenAPI documentation still
comes from the FastAPI route. It sits inside the access middleware: auth, rate limits,
CORS, request ids, logs and metrics still apply. Refusals are rendered with the same
``error_parts`` as everywhere else.
"""

from __future__ import annotations

import logging
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from TP_Docker.errors import error_parts, send_error
from TP_Docker.routes.v2 import run_infer
from TP_Docker.serving import Serving
from utils.errors import ToolkitError

logger = logging.getLogger(__name__)

_INFER = re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?/infer$")


class InferFastPath:
    """Serve v2 infer requests directly; pass everything else to the app."""

    def __init__(self, app: ASGIApp, *, serving: Serving) -> None:
        self.app = app
        self.serving = serving

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = _INFER.match(scope["path"])
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
        try:
            payload, headers = await run_infer(
                self.serving,
                match.group(1),
                match.group(2),
                content_type=content_type,
                header_length=header_length,
                body=body,
            )
        except ToolkitError as exc:
            await send_error(send, *error_parts(exc))
            return
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        raw.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        await send({"type": "http.response.body", "body": payload})
