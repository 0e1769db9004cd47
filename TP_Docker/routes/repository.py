"""Model repository extension of v2: index, load, unload (load/unload need the admin key).

A load re-reads the model's folder, verifies every file, warms the new sessions up and
swaps them in atomically; requests already running finish on the old sessions. A version
whose file is refused keeps serving its verified copy, and the answer says what was
refused and why (400, as Triton answers a failed load).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from TP_Docker.routes.common import json_response, plane_of
from TP_Docker.schemas import RepositoryEntry
from utils.deployment_helpers.auth import ApiKeys, read_api_key

router = APIRouter(prefix="/v2/repository", tags=["Model repository"])


def require_admin(request: Request) -> None:
    """Refuse unless the request carries the admin key (403 when none is configured)."""
    keys: ApiKeys = request.app.state.api_keys
    headers = request.headers
    keys.check_admin(
        headers.get("x-admin-key"),
        read_api_key(headers.get("x-api-key"), headers.get("authorization")),
    )


@router.post("/index", response_model=list[RepositoryEntry], summary="Repository index")
async def index(request: Request) -> Response:
    """Every model and version with its state (READY / UNAVAILABLE) and the reason."""
    rows = plane_of(request).index()
    return json_response(
        [
            {"name": r.name, "version": str(r.version), "state": r.state, "reason": r.reason}
            for r in rows
        ]
    )


@router.post("/models/{model_name}/load", summary="Load or reload a model (admin)")
async def load(request: Request, model_name: str) -> Response:
    """Hot (re)load every version of a model from disk, verified, with an atomic swap."""
    require_admin(request)
    report = await plane_of(request).load(model_name)
    return json_response(
        {"name": model_name, "loaded": True, "versions": [str(v) for v in report.ready]}
    )


@router.post("/models/{model_name}/unload", summary="Unload a model (admin)")
async def unload(request: Request, model_name: str) -> Response:
    """Take a model out of service; requests in flight finish."""
    require_admin(request)
    await plane_of(request).unload(model_name)
    return json_response({"name": model_name, "loaded": False})
