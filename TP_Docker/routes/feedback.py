"""``POST /v2/models/{name}/feedback``: ground truth for logged predictions, by request id.

Seldon's users asked to send feedback per row by request id instead of re-sending the
payload (seldon-core#337); this is that call. The body is
``[{"request_id": "...", "label": "3"}, ...]`` (``"value"`` for a model without classes,
``"row"`` for one row of a batch). The monitoring library checks and stores it
(:meth:`~utils.monitoring.model_monitor.ModelMonitor.submit_feedback`, also behind the
Flask page's ``/api/feedback``): all or nothing, so a client can fix and resend.
The join moves ``model_live_accuracy{model,version}`` on every worker's ``/metrics``.
"""

from __future__ import annotations

import asyncio

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from TP_Docker.routes.common import json_response, plane_of
from TP_Docker.schemas import FEEDBACK_OPENAPI, FeedbackResponse
from utils.errors import BadInput
from utils.monitoring.model_monitor import ModelMonitor

router = APIRouter(tags=["Open Inference Protocol v2"])

DESCRIPTION = """\
Join ground truth to predictions this model answered, by the request id each answer
carried (`X-Request-ID` header, `id` of a v2 answer, `request_id` of `/predict`):

```
curl -X POST http://127.0.0.1:8000/v2/models/digits_torch/feedback \\
     -H 'content-type: application/json' \\
     -d '[{"request_id": "3f9c0d2e5b7a41c8", "label": "3"}]'
```

A classifier takes a `label` among its classes, a model without classes a `value`; add
`"row": 2` for the third row of a batched request. All or nothing: a malformed item or a
wrong label is a 400, a request id the prediction log does not hold for this model a 404,
and then nothing is stored. The live accuracy over the last labelled predictions is
exported on `/metrics` as `model_live_accuracy{model,version}`."""


@router.post(
    "/v2/models/{model_name}/feedback",
    response_model=FeedbackResponse,
    summary="Feedback: true labels or values for logged predictions",
    description=DESCRIPTION,
    openapi_extra=FEEDBACK_OPENAPI,
)
async def feedback(request: Request, model_name: str) -> Response:
    plane = plane_of(request)
    monitor: ModelMonitor = request.app.state.monitor
    served = plane.model(model_name)
    try:
        items = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"the body is not valid JSON: {exc}") from None
    # A database round trip (and a flush of this worker's queue): off the event loop.
    result = await asyncio.to_thread(monitor.submit_feedback, items, served=served)
    return json_response({"model": served.name, "accepted": result.accepted})
