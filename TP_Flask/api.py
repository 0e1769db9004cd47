"""The JSON API: ``/api/predict``, ``/api/similarity``, ``/api/models``, ``/api/health``.

Errors are typed exceptions (``utils.errors``) rendered by ``error_pages`` as
``{"error": "..."}`` with the same HTTP codes as the FastAPI app. The routes only read
HTTP fields; ``inference.Predictor`` does the rest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from flask import Blueprint, Request, g, jsonify, request
from flask.typing import ResponseReturnValue

from TP_Flask.inference import DigitPrediction, parse_version, pixels_from_json
from TP_Flask.services import get_services
from utils.errors import BadInput, UnsupportedMediaType

bp = Blueprint("api", __name__, url_prefix="/api")

IMAGE_FIELD = "image"
"""The multipart field that carries an image, for the page and the API alike."""


def read_upload(req: Request) -> bytes:
    """The bytes of the ``image`` file field.

    :raise BadInput: no such field (the message lists the fields that did come), or an
        empty file.
    """
    upload = req.files.get(IMAGE_FIELD)
    if upload is None:
        got = sorted(set(req.files) | set(req.form))
        listed = ", ".join(repr(name) for name in got) if got else "none"
        raise BadInput(
            f"no file in the multipart field {IMAGE_FIELD!r} (fields received: {listed}): "
            f"send the image as {IMAGE_FIELD}=@digit.png"
        )
    data: bytes = upload.read()
    if not data:
        raise BadInput("the uploaded file is empty: choose a PNG or JPEG image")
    return data


def prediction_envelope(predictions: list[DigitPrediction]) -> dict[str, Any]:
    """The one response shape of every digit prediction (API and page)."""
    first = predictions[0]
    return {
        "model": first.model,
        "version": first.version,
        "variant": first.variant,
        "labels": first.labels,
        "latency_ms": round(first.latency_ms, 3),
        "inference_ms": round(first.inference_ms, 3),
        "predictions": [
            {
                "label": p.label,
                "index": p.index,
                "probabilities": [round(v, 6) for v in p.probabilities],
                "pixels": [[round(v, 4) for v in row] for row in p.pixels],
            }
            for p in predictions
        ],
    }


def note_predictions(predictions: list[DigitPrediction]) -> None:
    """Tell the request log, the counters and the drift window which model answered what."""
    first = predictions[0]
    g.prediction = {"model": first.model, "version": first.version, "label": first.label}
    g.predicted_labels = tuple(p.label for p in predictions)
    drift = get_services().drift
    for prediction in predictions:
        drift.record(prediction.model, np.asarray(prediction.pixels), prediction.label)


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None:
        raise BadInput("the body is not valid JSON")
    if not isinstance(body, dict):
        raise BadInput('the JSON body must be an object like {"inputs": [[...8 rows of 8...]]}')
    return body


@bp.post("/predict")
def predict() -> ResponseReturnValue:
    """Classify digits: JSON ``{"model", "version", "inputs"}`` or a multipart ``image``.

    :raise 400: bad JSON, a wrong field, a corrupt image, an empty drawing.
    :raise 404: unknown model or version.  :raise 413: too large.  :raise 415: not JSON,
        not multipart, or not an image.
    """
    predictor = get_services().predictor
    if request.is_json:
        body = _json_body()
        if "inputs" not in body:
            got = ", ".join(repr(k) for k in body) or "none"
            raise BadInput(
                f"missing field 'inputs' (fields received: {got}): send "
                '{"inputs": [[...8 rows of 8 pixels in [0, 1]...]], "model": "digits_torch"}'
            )
        model = body.get("model")
        if model is not None and not isinstance(model, str):
            raise BadInput("'model' must be a model name (a string)")
        predictions = predictor.classify_pixels(
            pixels_from_json(body["inputs"]),
            model=model,
            version=parse_version(body.get("version")),
        )
    elif request.mimetype == "multipart/form-data":
        model = request.form.get("model") or None
        version = parse_version(request.form.get("version"))
        predictions = [predictor.classify_image(read_upload(request), model=model, version=version)]
    else:
        raise UnsupportedMediaType(
            f"cannot read a {request.mimetype or 'body without Content-Type'}: send JSON "
            f"(application/json) or a multipart upload in the field {IMAGE_FIELD!r}"
        )
    note_predictions(predictions)
    return jsonify(prediction_envelope(predictions))


@bp.post("/similarity")
def similarity() -> ResponseReturnValue:
    """Cosine similarity of sentences: JSON ``{"sentences": [...], "model": "minilm"}``."""
    if not request.is_json:
        raise UnsupportedMediaType('send JSON: {"sentences": ["first", "second"]}')
    body = _json_body()
    sentences = body.get("sentences")
    if not isinstance(sentences, list):
        raise BadInput('missing list field \'sentences\': send {"sentences": ["a", "b"]}')
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise BadInput("'model' must be a model name (a string)")
    result = get_services().predictor.similarity(
        sentences, model=model, version=parse_version(body.get("version"))
    )
    g.prediction = {"model": result.model, "version": result.version}
    return jsonify(result.as_dict())


@bp.get("/models")
def models() -> ResponseReturnValue:
    """Every model version with its state, variant and input kind; the defaults used."""
    predictor = get_services().predictor
    default = predictor.default_digit_model()
    text = predictor.text_model_choice()
    return jsonify(
        models=[choice.as_dict() for choice in predictor.models()],
        default_digit_model=default.as_dict() if default else None,
        text_model=text.as_dict() if text else None,
    )


@bp.get("/health")
def health() -> ResponseReturnValue:
    """200 when at least one model serves (compose/k8s probes), 503 otherwise."""
    repository = get_services().repository
    ready = [m for m in repository.index() if m.state == "READY"]
    status = 200 if ready else 503
    return jsonify(status="ok" if ready else "unavailable", ready_versions=len(ready)), status
