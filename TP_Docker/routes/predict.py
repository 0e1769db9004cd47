"""``POST /predict``: plain JSON in, labels and probabilities out, for people and curl.

Unlike v2, the caller need not know datatypes or exact shapes: numbers are cast to the
model's datatype and each row is reshaped to the model's input layout when its number of
values fits (64 values or an 8x8 grid both feed a [-1, 1, 8, 8] CNN). Same core, same
validation, same batcher as v2.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from numpy.typing import NDArray
from starlette.responses import Response

from TP_Docker.routes.common import json_response, serving_of
from TP_Docker.schemas import PredictRequest, PredictResponse
from utils.deployment_helpers import DATATYPE_TO_NUMPY, ServedModel, TensorSpec
from utils.deployment_helpers.codec import contains_bool
from utils.errors import BadInput
from utils.monitoring.metrics import ObservedRequest

router = APIRouter(tags=["Plain JSON"])


def _to_array(spec: TensorSpec, rows: list[Any]) -> NDArray[Any]:
    if spec.datatype != "BOOL" and contains_bool(rows):
        raise BadInput(
            f"input {spec.name!r}: the rows hold JSON booleans (true/false) but the model "
            f"takes {spec.datatype} numbers: send numbers"
        )
    try:
        array = np.asarray(rows, dtype=DATATYPE_TO_NUMPY[spec.datatype])
    except (ValueError, TypeError, OverflowError):
        raise BadInput(
            f"input {spec.name!r}: send rows of numbers of equal length "
            f"(the model takes {spec.datatype} {spec.shape})"
        ) from None
    if array.ndim == 0:
        raise BadInput(f"input {spec.name!r}: send a list of rows, e.g. [[...], [...]]")
    tail = spec.shape[1:]
    if all(d > 0 for d in tail):
        per_row = math.prod(tail)
        if array.ndim == 1 and array.size == per_row:
            array = array.reshape(1, -1)  # one row sent without the outer list
        if array.size and array.size == array.shape[0] * per_row:
            array = array.reshape(array.shape[0], *tail)
    return array


def _feed(model: ServedModel, inputs: list[Any] | dict[str, list[Any]]) -> dict[str, NDArray[Any]]:
    specs = {s.name: s for s in model.manifest.inputs}
    if isinstance(inputs, list):
        if len(specs) != 1:
            raise BadInput(
                f"model {model.name!r} takes several inputs ({', '.join(specs)}): "
                "send 'inputs' as an object by input name"
            )
        (spec,) = specs.values()
        return {spec.name: _to_array(spec, inputs)}
    unknown = [n for n in inputs if n not in specs]
    if unknown:
        raise BadInput(
            f"unknown input {unknown[0]!r}; model {model.name!r} takes {', '.join(specs)}"
        )
    return {name: _to_array(specs[name], rows) for name, rows in inputs.items()}


@router.post(
    "/predict",
    response_model=PredictResponse,
    summary="Predict from plain JSON rows",
    responses={400: {"description": "Bad input"}, 404: {"description": "Unknown model"}},
)
async def predict(request: Request, body: PredictRequest) -> Response:
    """Classify rows (labels + probabilities), or return raw outputs for other models."""
    serving = serving_of(request)
    with ObservedRequest(serving.metrics) as observed:
        model = serving.repository.get(body.model, body.version)
        observed.model, observed.version = model.name, str(model.version)
        feed = model.validate(_feed(model, body.inputs))
        outputs = await serving.infer(model, feed)
    answer: dict[str, Any] = {"model": model.name, "version": model.version}
    if model.manifest.task == "classification":
        probs = model.probabilities(outputs)
        labels = model.manifest.labels
        answer["predictions"] = [
            {
                "label": labels[i] if i < len(labels) else str(i),
                "index": i,
                "probabilities": row,
            }
            for i, row in ((int(np.argmax(r)), r.tolist()) for r in probs)
        ]
    else:
        answer["outputs"] = {k: v.tolist() for k, v in outputs.items()}
    return json_response(answer)
