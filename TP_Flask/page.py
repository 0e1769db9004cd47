"""The prediction page: draw or upload a digit, compare models, compare sentences.

The page works in two ways. With JavaScript (the normal case) ``static/js/predict.js``
posts the drawing or the file to ``/predict`` with ``Accept: application/json`` and the
CSRF token in a header, and draws the answer. Without JavaScript the same forms post
normally and the answer is rendered here, server-side. Both go through the same routes,
so CSRF and rate limits cover both.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from TP_Flask.api import note_predictions, prediction_envelope, read_upload
from TP_Flask.error_pages import wants_json
from TP_Flask.inference import DigitPrediction, Similarity, parse_version
from TP_Flask.services import get_services
from utils.errors import BadInput

bp = Blueprint("page", __name__)


def split_model_choice(raw: str | None) -> tuple[str | None, int | None]:
    """The selector's value ``name/version`` (or just ``name``) as (name, version)."""
    if not raw:
        return None, None
    name, _, version = raw.partition("/")
    return name or None, parse_version(version or None)


def render_index(
    *,
    error: str | None = None,
    prediction: DigitPrediction | None = None,
    similarity: Similarity | None = None,
) -> str:
    """The page, optionally with a result or an error message (server-side rendering)."""
    services = get_services()
    predictor = services.predictor
    choices = predictor.digit_models()
    default = predictor.default_digit_model()
    selected = (
        f"{prediction.model}/{prediction.version}"
        if prediction
        else (f"{default.name}/{default.version}" if default else "")
    )
    context: dict[str, Any] = {
        "choices": choices,
        "selected": selected,
        "text_model": predictor.text_model_choice(),
        "text_choices": predictor.text_models(),
        "text_selected": f"{similarity.model}/{similarity.version}" if similarity else "",
        "error": error,
        "prediction": prediction,
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
    prediction = get_services().predictor.classify_image(
        read_upload(request), model=name, version=version
    )
    note_predictions([prediction])
    if wants_json():
        return jsonify(prediction_envelope([prediction]))
    return render_index(prediction=prediction)


@bp.post("/similarity")
def similarity() -> ResponseReturnValue:
    """Compare the sentences of the text box, one per line."""
    text = request.form.get("sentences")
    if text is None:
        raise BadInput("missing form field 'sentences': type one sentence per line")
    name, version = split_model_choice(request.form.get("model"))
    result = get_services().predictor.similarity(text.splitlines(), model=name, version=version)
    g.prediction = {"model": result.model, "version": result.version}
    if wants_json():
        return jsonify(result.as_dict())
    return render_index(similarity=result)
