"""``POST /predict``: plain JSON in, answers a person reads out (labels, values, flags).

The body is ``{"model": name, "version": n (optional), "inputs": ...}``, the inputs in the
form the model's input kind takes (8x8 pixels, rows of features, sentences, windows of a
series, raw rows); the data plane decodes, validates, batches, runs and post-processes,
exactly as for the Flask page's ``/api/predict``, so both answer the same body, the same
codes and the same errors for the same request.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from TP_Docker.routes.common import context_of, json_response, plane_of
from TP_Docker.schemas import PREDICT_OPENAPI, PredictResponse

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
