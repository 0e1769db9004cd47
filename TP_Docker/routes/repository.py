"""Model repository extension of v2: index, load, unload (load/unload need the admin key).

A load re-reads the model's folder, verifies every file, warms the new sessions up and
swaps them in atomically; requests already running finish on the old sessions.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from starlette.responses import Response

from TP_Docker.routes.common import json_response, serving_of
from TP_Docker.schemas import RepositoryEntry
from utils.errors import Forbidden, Unauthorized

router = APIRouter(prefix="/v2/repository", tags=["Model repository"])


def require_admin(request: Request) -> None:
    """Refuse unless the request carries the admin key (403 when none is configured)."""
    admin = serving_of(request).settings.admin_key
    if not admin:
        raise Forbidden(
            "repository load/unload is disabled: start the server with API_ADMIN_KEY set"
        )
    given = request.headers.get("x-admin-key") or request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    if given is None and auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    if given is None:
        raise Unauthorized("repository changes need the admin key in 'X-Admin-Key'")
    if not hmac.compare_digest(given.encode(), admin.encode()):
        raise Forbidden("this key may not change the repository: use the admin key")


@router.post("/index", response_model=list[RepositoryEntry], summary="Repository index")
async def index(request: Request) -> Response:
    """Every model and version with its state (READY / UNAVAILABLE) and the reason."""
    rows = serving_of(request).repository.index()
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
    await serving_of(request).reload(model_name)
    return json_response({"name": model_name, "loaded": True})


@router.post("/models/{model_name}/unload", summary="Unload a model (admin)")
async def unload(request: Request, model_name: str) -> Response:
    """Take a model out of service; requests in flight finish."""
    require_admin(request)
    await serving_of(request).unload(model_name)
    return json_response({"name": model_name, "loaded": False})
