"""``GET /metrics``: the app's own Prometheus registry in text format."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from TP_Docker.routes.common import plane_of

router = APIRouter(tags=["Monitoring"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Request latency/count per model, version and status; batch sizes; queue depth; loads."""
    return Response(plane_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)
