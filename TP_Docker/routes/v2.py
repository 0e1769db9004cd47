"""Open Inference Protocol v2 (KServe / Triton) REST endpoints.

Complete enough that ``tritonclient.http`` works unchanged: health, server and model
metadata, model readiness, Triton's model config, and inference with JSON tensors or the
binary tensor extension. The infer handler is the hot path: it reads the raw body, parses
it with orjson and decodes tensors itself (no pydantic), validates against the model's
signature, and awaits the batcher; onnxruntime runs in a worker thread.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from TP_Docker.routes.common import check_json_type, json_response, parse_version, serving_of
from TP_Docker.schemas import INFER_OPENAPI, ModelMetadata, ServerMetadata
from TP_Docker.serving import Serving
from utils import __version__
from utils.deployment_helpers import ServedModel, decode_request, encode_response
from utils.errors import BadInput, ModelNotReady
from utils.monitoring.metrics import ObservedRequest

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
    serving = serving_of(request)
    if serving.ready:
        return json_response({"ready": True})
    reason = "shutting down" if serving.draining else serving.repository.not_ready_reason()
    return json_response({"ready": False, "error": f"not ready: {reason}"}, 503)


def _metadata(model: ServedModel, versions: list[int]) -> dict[str, Any]:
    spec = model.manifest
    return {
        "name": model.name,
        "versions": [str(v) for v in versions],
        "platform": "onnxruntime_onnx",
        "inputs": [s.model_dump() for s in spec.inputs],
        "outputs": [s.model_dump() for s in spec.outputs],
        "parameters": {
            "version": str(model.version),
            "task": spec.task,
            "labels": spec.labels,
            "max_batch_size": model.batching.max_batch_size,
            "variant": spec.version(model.version).variant,
        },
    }


@router.get("/models/{model_name}", response_model=ModelMetadata, summary="Model metadata")
async def model_metadata(request: Request, model_name: str) -> Response:
    """Signature of the latest version, and the versions in service."""
    repo = serving_of(request).repository
    model = repo.get(model_name)
    return json_response(_metadata(model, [m.version for m in repo.versions(model_name)]))


@router.get(
    "/models/{model_name}/versions/{model_version}",
    response_model=ModelMetadata,
    summary="Model version metadata",
)
async def model_version_metadata(request: Request, model_name: str, model_version: str) -> Response:
    """Signature of one version."""
    repo = serving_of(request).repository
    model = repo.get(model_name, parse_version(model_name, model_version))
    return json_response(_metadata(model, [model.version]))


def _ready(request: Request, model_name: str, version: str | None) -> Response:
    try:
        model = serving_of(request).repository.get(model_name, parse_version(model_name, version))
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


def _config(model: ServedModel) -> dict[str, Any]:
    def tensors(specs: Any) -> list[dict[str, Any]]:
        batched = model.batching.max_batch_size > 0
        return [
            {
                "name": s.name,
                "data_type": f"TYPE_{'STRING' if s.datatype == 'BYTES' else s.datatype}",
                "dims": s.shape[1:] if batched else s.shape,
            }
            for s in specs
        ]

    config: dict[str, Any] = {
        "name": model.name,
        "platform": "onnxruntime_onnx",
        "backend": "onnxruntime",
        "max_batch_size": model.batching.max_batch_size,
        "input": tensors(model.manifest.inputs),
        "output": tensors(model.manifest.outputs),
    }
    if model.batching.max_batch_size > 0:
        config["dynamic_batching"] = {
            "max_queue_delay_microseconds": model.batching.max_queue_delay_us
        }
    return config


@router.get("/models/{model_name}/config", summary="Triton model config")
async def model_config(request: Request, model_name: str) -> Response:
    """Triton's model configuration as JSON (what ``tritonclient`` get_model_config reads)."""
    return json_response(_config(serving_of(request).repository.get(model_name)))


@router.get("/models/{model_name}/versions/{model_version}/config", summary="Version config")
async def model_version_config(request: Request, model_name: str, model_version: str) -> Response:
    """Triton's model configuration of one version."""
    repo = serving_of(request).repository
    return json_response(_config(repo.get(model_name, parse_version(model_name, model_version))))


async def run_infer(
    serving: Serving,
    model_name: str,
    version: str | None,
    *,
    content_type: str | None,
    header_length: str | None,
    body: bytes,
) -> tuple[bytes, dict[str, str]]:
    """The v2 infer hot path, shared by the FastAPI route and the ASGI fast path.

    Returns the response body and its headers; raises ToolkitError for every refusal.
    """
    # label values stay bounded: "unknown" until the model is known, never user text
    with ObservedRequest(serving.metrics) as observed:
        model = serving.repository.get(model_name, parse_version(model_name, version))
        observed.model, observed.version = model.name, str(model.version)
        check_json_type(content_type, allow_binary=True)
        binary: memoryview | None = None
        if header_length is not None:
            if not header_length.isdecimal() or int(header_length) > len(body):
                raise BadInput(
                    f"Inference-Header-Content-Length {header_length!r} is not a byte count "
                    f"within the {len(body)}-byte body"
                )
            binary = memoryview(body)[int(header_length) :]
            body = body[: int(header_length)]
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadInput(f"the body is not valid JSON: {exc}") from None
        decoded = decode_request(parsed, binary)
        feed = model.validate(decoded.inputs)
        outputs = await serving.infer(model, feed)
        header, blobs = encode_response(model.name, model.version, outputs, decoded)
    head = orjson.dumps(header)
    if not blobs:
        return head, JSON_HEADERS
    return b"".join([head, *blobs]), {
        "content-type": "application/octet-stream",
        "inference-header-content-length": str(len(head)),
    }


JSON_HEADERS = {"content-type": "application/json"}


async def _infer(request: Request, model_name: str, version: str | None) -> Response:
    body, headers = await run_infer(
        serving_of(request),
        model_name,
        version,
        content_type=request.headers.get("content-type"),
        header_length=request.headers.get("inference-header-content-length"),
        body=await request.body(),
    )
    return Response(body, headers=headers)


@router.post(
    "/models/{model_name}/infer",
    summary="Inference (latest version)",
    openapi_extra=INFER_OPENAPI,
)
async def infer(request: Request, model_name: str) -> Response:
    """Run the latest version on v2 JSON tensors (or the binary tensor extension)."""
    return await _infer(request, model_name, None)


@router.post(
    "/models/{model_name}/versions/{model_version}/infer",
    summary="Inference (one version)",
    openapi_extra=INFER_OPENAPI,
)
async def infer_version(request: Request, model_name: str, model_version: str) -> Response:
    """Run one version on v2 JSON tensors (or the binary tensor extension)."""
    return await _infer(request, model_name, model_version)
