"""``POST /predict``: plain JSON in, answers a person reads out (labels, values, flags);
``POST /detect``: a picture in, the digits found in it and the number they read.

The body is ``{"model": name, "version": n (optional), "inputs": ...}``, the inputs in the
form the model's input kind takes (8x8 pixels, rows of features, sentences, windows of a
series, raw rows); the data plane decodes, validates, batches, runs and post-processes,
exactly as for the Flask page's ``/api/predict``, so both answer the same body, the same
codes and the same errors for the same request. ``/detect`` is the Flask app's
``/api/detect`` (multipart ``image``): a door of its own rather than an upload mode of
``/predict``, whose body is documented and fuzzed as JSON.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from TP_Docker.routes.common import context_of, json_response, plane_of
from TP_Docker.schemas import PREDICT_OPENAPI, PredictResponse
from utils.deployment_helpers.tasks import IMAGE_FIELD, checked_upload, not_multipart

router = APIRouter(tags=["Plain JSON"])


@router.post(
    "/predict",
    response_model=PredictResponse,
    summary="Predict from plain JSON",
    openapi_extra=PREDICT_OPENAPI,
)
async def predict(request: Request) -> Response:
    """Answer each input row with the model's task: labels + probabilities, values..."""
    plane = plane_of(request)
    answer = await plane.predict(
        await request.body(),
        context_of(request, "predict"),
        content_type=request.headers.get("content-type"),
    )
    return json_response(answer)


DETECT_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [IMAGE_FIELD],
                    "properties": {
                        IMAGE_FIELD: {"type": "string", "format": "binary"},
                        "model": {"type": "string", "description": "default: the detector"},
                        "version": {"type": "string"},
                    },
                }
            }
        },
    },
    "responses": {
        "200": {
            "description": "Detections left to right, boxes in the picture's pixels",
            "content": {
                "application/json": {
                    "example": {
                        "detections": [{"label": "2", "score": 0.97, "box": [12, 30, 80, 150]}],
                        "text": "2",
                    }
                }
            },
        },
        "400": {"description": "A corrupt picture, an empty drawing, not a detector"},
        "404": {"description": "Unknown model or version"},
        "413": {"description": "Over the upload or pixel limit"},
        "415": {"description": "Not multipart, or not an image"},
    },
}
"""The documented body: the route reads the form itself, so FastAPI does not validate it."""


@router.post("/detect", summary="Read a number from a picture", openapi_extra=DETECT_OPENAPI)
async def detect(request: Request) -> Response:
    """A picture (multipart ``image``; optional ``model``, ``version``): each digit's box,
    label and score, left to right, and the number read, as the Flask app's /api/detect."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "multipart/form-data":
        raise not_multipart()
    plane = plane_of(request)
    async with request.form(max_files=1, max_fields=8) as form:
        upload = form.get(IMAGE_FIELD)
        data = await upload.read() if isinstance(upload, UploadFile) else None
        data = checked_upload(data, list(form.keys()))
        model, version = form.get("model"), form.get("version")
    answer = await plane.detect(
        model if isinstance(model, str) and model else None,
        version if isinstance(version, str) and version else None,
        data,
        context_of(request, "detect"),
    )
    return json_response(answer)
