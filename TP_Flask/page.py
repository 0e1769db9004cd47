"""The prediction page: draw or upload a digit, compare models, compare sentences.

The page works in two ways. With JavaScript (the normal case) ``static/js/predict.js``
posts the drawing or the file to ``/predict`` with ``Accept: application/json`` and the
CSRF token in a header, and draws the answer. Without JavaScript the same forms post
normally and the answer is rendered here, server-side. Both go through the same routes,
so CSRF and rate limits cover both, and both go through the data plane's upload door.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from TP_Flask.api import compare_sentences, latest_of, predict_upload
from TP_Flask.responses import wants_json
from TP_Flask.services import get_services
from utils.errors import BadInput

bp = Blueprint("page", __name__)


def split_model_choice(raw: str | None) -> tuple[str | None, str | None]:
    """The selector's value ``name/version`` (or just ``name``) as (name, version)."""
    if not raw:
        return None, None
    name, _, version = raw.partition("/")
    return name or None, version or None


def _shown(answer: dict[str, Any]) -> dict[str, Any]:
    """One answer flattened for the server-side template (first row + model facts)."""
    return {**answer, **answer["predictions"][0]}


def render_index(
    *,
    error: str | None = None,
    prediction: dict[str, Any] | None = None,
    similarity: dict[str, Any] | None = None,
) -> str:
    """The page, optionally with a result or an error message (server-side rendering)."""
    services = get_services()
    entries = [e for e in services.plane.catalogue() if e.ready]
    choices = [e for e in entries if e.input_kind == "digits-8x8"]
    default = latest_of(choices, services.settings.default_model)
    text_choices = [
        e for e in entries if e.name == services.settings.text_model and e.input_kind == "text"
    ]
    text_model = latest_of(text_choices, services.settings.text_model, fallback=False)
    selected = (
        f"{prediction['model']}/{prediction['version']}"
        if prediction
        else (f"{default.name}/{default.version}" if default else "")
    )
    context: dict[str, Any] = {
        "choices": choices,
        "selected": selected,
        "text_model": text_model,
        "text_choices": text_choices,
        "text_selected": f"{similarity['model']}/{similarity['version']}" if similarity else "",
        "error": error,
        "prediction": _shown(prediction) if prediction else None,
        "similarity": similarity,
        "max_upload_bytes": services.settings.max_upload_bytes,
    }
    return render_template("index.html", **context)


@bp.get("/")
def index() -> ResponseReturnValue:
    """The prediction page."""
    return render_index()


@bp.post("/predict")
def predict() -> ResponseReturnValue:
    """Classify the drawing or the uploaded file of the form (field ``image``)."""
    name, version = split_model_choice(request.form.get("model"))
    answer = predict_upload(name, version)
    if wants_json():
        return jsonify(answer)
    return render_index(prediction=answer)


@bp.post("/similarity")
def similarity() -> ResponseReturnValue:
    """Compare the sentences of the text box, one per line."""
    text = request.form.get("sentences")
    if text is None:
        raise BadInput("missing form field 'sentences': type one sentence per line")
    name, version = split_model_choice(request.form.get("model"))
    answer = compare_sentences(name, version, text.splitlines())
    if wants_json():
        return jsonify(answer)
    return render_index(similarity=answer)
