"""The JSON API: ``/api/predict``, ``/api/detect``, ``/api/similarity``, ``/api/models``,
``/api/health``, ``/api/models/<name>/feedback``.

A door onto the data plane, like the FastAPI app: each route reads HTTP fields, calls the
plane through its sync door and returns what it answers. ``/api/predict`` with a JSON body
is the same call as the API's ``/predict`` (same body, same answers, same errors); with a
multipart ``image`` it reads the picture for models that take one. Errors are typed
exceptions rendered by ``error_pages`` as ``{"error": "..."}`` with the API's codes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Request, g, jsonify, request
from flask.typing import ResponseReturnValue

from TP_Flask.request_log import request_context
from TP_Flask.services import get_services
from utils.deployment_helpers.dataplane import ModelEntry
from utils.deployment_helpers.tasks import IMAGE_FIELD, checked_upload, not_multipart
from utils.errors import BadInput, ModelNotFound, UnsupportedMediaType

bp = Blueprint("api", __name__, url_prefix="/api")


def read_upload(req: Request) -> bytes:
    """The bytes of the ``image`` file field.

    :raise BadInput: no such field (the message lists the fields that did come), or an
        empty file.
    """
    upload = req.files.get(IMAGE_FIELD)
    data = upload.read() if upload is not None else None
    return checked_upload(data, [*req.files, *req.form])


def note_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """Tell the access log which model and version answered; return the answer."""
    g.answered = {"model": answer["model"], "version": answer["version"]}
    return answer


def predict_upload(name: str | None, version: object) -> dict[str, Any]:
    """Run the uploaded ``image`` of this request through the plane."""
    plane = get_services().plane
    data = read_upload(request)
    return note_answer(
        plane.call(plane.predict_upload(name, version, data, request_context("upload")))
    )


@bp.post("/predict")
def predict() -> ResponseReturnValue:
    """JSON ``{"model", "version", "inputs"}`` (as the API's /predict), or a multipart
    ``image`` (with optional ``model`` and ``version`` fields).

    :raise 400: bad JSON, a wrong field, a corrupt image, an empty drawing.
    :raise 404: unknown model or version.  :raise 413: too large.  :raise 415: neither
        JSON nor multipart, or not an image.
    """
    if request.mimetype == "multipart/form-data":
        answer = predict_upload(request.form.get("model") or None, request.form.get("version"))
        return jsonify(answer)
    plane = get_services().plane
    answer = plane.call(
        plane.predict(
            request.get_data(cache=False),
            request_context("predict"),
            content_type=request.content_type,
        )
    )
    return jsonify(note_answer(answer))


def detect_upload(name: str | None, version: object) -> dict[str, Any]:
    """Run the uploaded ``image`` of this request through a detector (the plane's door)."""
    if request.mimetype != "multipart/form-data":
        raise not_multipart()
    plane = get_services().plane
    data = read_upload(request)
    return note_answer(plane.call(plane.detect(name, version, data, request_context("detect"))))


@bp.post("/detect")
def detect() -> ResponseReturnValue:
    """A picture of a number (multipart ``image``, optional ``model`` and ``version``;
    the model defaults to the detector): ``{"detections": [{"label", "score", "box"}],
    "text"}``, detections left to right, boxes in the picture's pixels.

    :raise 400: a corrupt picture, an empty drawing, a model that does not detect.
    :raise 404: unknown model or version.  :raise 413: too large.  :raise 415: not
        multipart, or not an image.
    """
    return jsonify(detect_upload(request.form.get("model") or None, request.form.get("version")))


@bp.post("/similarity")
def similarity() -> ResponseReturnValue:
    """Cosine similarity of sentences: JSON ``{"sentences": [...], "model": "minilm"}``."""
    if not request.is_json:
        raise UnsupportedMediaType('send JSON: {"sentences": ["first", "second"]}')
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput('the body must be a JSON object: {"sentences": ["a", "b"]}')
    return jsonify(compare_sentences(body.get("model"), body.get("version"), body.get("sentences")))


def compare_sentences(model: object, version: object, sentences: object) -> dict[str, Any]:
    """The plane's similarity door, defaulting to the configured sentence model, with the
    way to build it when it is the one missing."""
    services = get_services()
    plane = services.plane
    name = model if isinstance(model, str) and model else services.settings.text_model
    try:
        answer = plane.call(
            plane.similarity(name, version, sentences, request_context("similarity"))
        )
    except ModelNotFound:
        if name != services.settings.text_model or name in plane.repository.model_names():
            raise
        raise ModelNotFound(
            f"the sentence model {name!r} is not in the repository: build it with "
            "`make minilm`, then restart the app"
        ) from None
    return note_answer(answer)


@bp.post("/models/<name>/feedback")
def feedback(name: str) -> ResponseReturnValue:
    """Ground truth for logged predictions of model ``name``, by request id: the API's
    ``POST /v2/models/{name}/feedback`` (same body, same library call, same errors):
    ``[{"request_id": "...", "label": "3"}]``, ``"value"`` for a model without classes.

    :raise 400: a malformed item, a label that is not a class of the model, the log off.
    :raise 404: unknown model, or a request id the log does not hold for it.
    :raise 415: not JSON.
    """
    if not request.is_json:
        raise UnsupportedMediaType('send JSON: [{"request_id": "...", "label": "3"}]')
    services = get_services()
    served = services.plane.model(name)
    items = request.get_json(silent=True)
    if items is None:
        raise BadInput("the body is not valid JSON")
    result = services.monitor.submit_feedback(items, served=served)
    return jsonify(model=served.name, accepted=result.accepted)


@bp.get("/models")
def models() -> ResponseReturnValue:
    """Every model version with its state, task, input kind, variant and metrics."""
    services = get_services()
    entries = services.plane.catalogue()
    ready = [e for e in entries if e.ready]
    digits = [e for e in ready if e.input_kind == "digits-8x8"]
    default = latest_of(digits, services.settings.default_model)
    text = latest_of(ready, services.settings.text_model, fallback=False)
    return jsonify(
        models=[e.as_dict() for e in entries],
        default_digit_model=default.as_dict() if default else None,
        text_model=text.as_dict() if text else None,
    )


def latest_of(entries: list[ModelEntry], name: str, *, fallback: bool = True) -> ModelEntry | None:
    """The newest entry of model ``name``, else (``fallback``) of the first model listed."""
    chosen = [e for e in entries if e.name == name]
    if not chosen and fallback and entries:
        chosen = [e for e in entries if e.name == entries[0].name]
    return max(chosen, key=lambda e: e.version) if chosen else None


@bp.get("/health")
def health() -> ResponseReturnValue:
    """200 when at least one model serves (compose/k8s probes), 503 otherwise."""
    plane = get_services().plane
    ready = [m for m in plane.index() if m.state == "READY"]
    status = 200 if ready else 503
    return jsonify(status="ok" if ready else "unavailable", ready_versions=len(ready)), status
