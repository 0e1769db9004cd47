"""Open Inference Protocol v2 (KServe / Triton) REST endpoints, but infer.

Health, server and model metadata, model readiness and Triton's model config, each one
call to the data plane. Inference itself (``POST .../infer``) is answered by the ASGI fast
path (``fast_path.py``), the API's one implementation of it; ``openapi.py`` documents it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from TP_Docker.routes.common import json_response, plane_of
from TP_Docker.schemas import ModelMetadata, ServerMetadata
from utils import __version__
from utils.errors import ModelNotReady

router = APIRouter(prefix="/v2", tags=["Open Inference Protocol v2"])

SERVER_NAME = "ai-model-deployment-tools"
EXTENSIONS = ["binary_tensor_data", "model_repository"]


@router.get("", response_model=ServerMetadata, summary="Server metadata")
async def server_metadata() -> Response:
    """Name, version and protocol extensions of this server."""
    return json_response({"name": SERVER_NAME, "version": __version__, "extensions": EXTENSIONS})


@router.get("/health/live", summary="Liveness")
async def live() -> Response:
    """200 while the process answers (restart it otherwise)."""
    return json_response({"live": True})


@router.get("/health/ready", summary="Readiness", responses={503: {"description": "Not ready"}})
async def ready(request: Request) -> Response:
    """200 once every model is loaded, 503 before that and while shutting down."""
    plane = plane_of(request)
    if plane.ready:
        return json_response({"ready": True})
    return json_response({"ready": False, "error": f"not ready: {plane.not_ready_reason()}"}, 503)


@router.get("/models/{model_name}", response_model=ModelMetadata, summary="Model metadata")
async def model_metadata(request: Request, model_name: str) -> Response:
    """Signature of the latest version, the versions in service, and why others are not."""
    return json_response(plane_of(request).model_metadata(model_name))


@router.get(
    "/models/{model_name}/versions/{model_version}",
    response_model=ModelMetadata,
    summary="Model version metadata",
)
async def model_version_metadata(request: Request, model_name: str, model_version: str) -> Response:
    """Signature of one version."""
    return json_response(plane_of(request).model_metadata(model_name, model_version))


def _ready(request: Request, model_name: str, version: str | None) -> Response:
    try:
        model = plane_of(request).model(model_name, version)
    except ModelNotReady as exc:
        return json_response({"name": model_name, "ready": False, "error": exc.message}, 503)
    return json_response({"name": model.name, "version": str(model.version), "ready": True})


@router.get("/models/{model_name}/ready", summary="Model readiness")
async def model_ready(request: Request, model_name: str) -> Response:
    """200 when the model serves, 503 when it exists but does not, 404 when unknown."""
    return _ready(request, model_name, None)


@router.get("/models/{model_name}/versions/{model_version}/ready", summary="Version readiness")
async def model_version_ready(request: Request, model_name: str, model_version: str) -> Response:
    """200 when this version serves."""
    return _ready(request, model_name, model_version)


@router.get("/models/{model_name}/config", summary="Triton model config")
async def model_config(request: Request, model_name: str) -> Response:
    """Triton's model configuration as JSON (what ``tritonclient`` get_model_config reads)."""
    return json_response(plane_of(request).model_config(model_name))


@router.get("/models/{model_name}/versions/{model_version}/config", summary="Version config")
async def model_version_config(request: Request, model_name: str, model_version: str) -> Response:
    """Triton's model configuration of one version."""
    return json_response(plane_of(request).model_config(model_name, model_version))
