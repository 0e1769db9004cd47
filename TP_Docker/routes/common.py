"""Small pieces every route module uses: the data plane, the request context, JSON."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from utils.deployment_helpers.dataplane import DataPlane
from utils.deployment_helpers.observation import RequestContext
from utils.monitoring.logging import request_id_var


def plane_of(request: Request) -> DataPlane:
    """The app's :class:`DataPlane` (set by ``create_app``)."""
    return request.app.state.plane  # type: ignore[no-any-return]


def context_of(request: Request, route: str) -> RequestContext:
    """Who asks: the request id and the client the middleware identified."""
    return RequestContext(
        request_id_var.get() or "unknown", request.scope.get("client_id", "anonymous"), route
    )


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """orjson-encoded JSON (numpy-aware), without FastAPI's jsonable_encoder pass."""
    body = orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)
