"""The prediction page: draw or upload a digit (or a whole number), compare models,
compare sentences.

The page works in two ways. With JavaScript (the normal case) ``static/js/predict.js``
posts the drawing or the file to ``/predict`` with ``Accept: application/json`` and the
CSRF token in a header, and draws the answer. Without JavaScript the same forms post
normally and the answer is rendered here, server-side. Both go through the same routes,
so CSRF and rate limits cover both, and both go through the data plane's upload door.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from TP_Flask.api import (
    compare_sentences,
    detect_upload,
    latest_of,
    note_answer,
    predict_upload,
)
from TP_Flask.request_log import request_context
from TP_Flask.responses import wants_json
from TP_Flask.services import get_services
from utils.deployment_helpers.dataplane import ModelEntry
from utils.deployment_helpers.tasks.series import series_from_csv
from utils.errors import BadInput, ToolkitError

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


def inputs_from_form(widget: str, form: Any, features: int) -> tuple[Any, dict[str, Any]]:
    """The JSON ``inputs`` a page form stands for, and what to fill the form with again.

    :raise BadInput: a feature that is not a number, no text, or rows that are not JSON.
    """
    if widget == "form":
        raw = [form.get(f"feature_{i}", "") for i in range(features)]
        try:
            row = [float(value) for value in raw]
        except ValueError:
            raise BadInput("every feature needs a number (use a dot for decimals)") from None
        return [row], {"features": raw}
    if widget == "text":
        text = form.get("text", "")
        sentences = [line.strip() for line in text.splitlines() if line.strip()]
        if not sentences:
            raise BadInput("type at least one sentence")
        return sentences, {"text": text}
    if widget == "series":
        text = form.get("series", "")
        return series_from_csv(text), {"series": text}
    text = form.get("json", "")
    try:
        return json.loads(text), {"json": text}
    except json.JSONDecodeError:
        raise BadInput("the rows are not valid JSON: e.g. [[1.0, 2.0, 3.0]]") from None


def _current(entries: list[ModelEntry], wanted: str | None, default: str) -> ModelEntry | None:
    """The model the page shows: ``?model=`` when it is served, else the default (the
    digits canvas), else the first ready model."""
    for name in (wanted, default):
        chosen = latest_of(entries, name or "", fallback=False)
        if chosen is not None:
            return chosen
    return latest_of(entries, "", fallback=True)


def render_index(
    *,
    error: str | None = None,
    prediction: dict[str, Any] | None = None,
    similarity: dict[str, Any] | None = None,
    detection: dict[str, Any] | None = None,
    model: str | None = None,
    filled: dict[str, Any] | None = None,
) -> str:
    """The page of one model (``model``, else ``?model=``, else the default), optionally
    with a result or an error message (server-side rendering)."""
    services = get_services()
    entries = [e for e in services.plane.catalogue() if e.ready]
    answered = prediction or detection
    wanted = model or (answered["model"] if answered else None) or request.args.get("model")
    current = _current(entries, wanted, services.settings.default_model)
    versions = [e for e in entries if current and e.name == current.name]
    text_choices = [
        e for e in entries if e.name == services.settings.text_model and e.task == "embedding"
    ]
    text_model = latest_of(text_choices, services.settings.text_model, fallback=False)
    selected = (
        f"{answered['model']}/{answered['version']}"
        if answered
        else (f"{current.name}/{current.version}" if current else "")
    )
    filled = filled or {}
    context: dict[str, Any] = {
        "model_names": sorted({e.name for e in entries}),
        "current": current,
        "versions": versions,
        # the canvas compares every digits model (torch, Keras, scikit-learn, int8...)
        "choices": [e for e in entries if e.input_kind == "digits-8x8"],
        "selected": selected,
        "feature_fields": feature_fields(current) if current else [],
        "feature_values": filled.get("features"),
        "text_value": filled.get("text"),
        "json_value": filled.get("json"),
        "standardized_outside": False,
        "window": None,
        "text_model": text_model,
        "text_choices": text_choices,
        "text_selected": f"{similarity['model']}/{similarity['version']}" if similarity else "",
        "error": error,
        "prediction": _shown(prediction) if prediction else None,
        "similarity": similarity,
        "detection": detection,
        "max_upload_bytes": services.settings.max_upload_bytes,
        "sentences": [s.strip() for s in (filled.get("text") or "").splitlines() if s.strip()]
        if prediction
        else None,
        "series_value": filled.get("series"),
        "series_models": series_models(entries, current) if current else [],
    }
    return render_template("index.html", **context)


def series_models(entries: list[ModelEntry], current: ModelEntry) -> list[dict[str, Any]]:
    """What the series panel sends a series to: the model shown first, then the newest
    version of every other series model of another task (a forecaster beside an anomaly
    detector), so one chart shows the history, the forecast and the flagged points."""
    if current.widget != "series":
        return []
    chosen = [current]
    for entry in entries:
        if entry.widget == "series" and entry.task not in {c.task for c in chosen}:
            chosen.append(latest_of(entries, entry.name, fallback=False) or entry)
    plane = get_services().plane
    described = []
    for entry in chosen:
        served = plane.model(entry.name, entry.version)
        pre = served.manifest.preprocessing
        described.append(
            {
                "name": entry.name,
                "version": entry.version,
                "task": entry.task,
                "window": pre.window or served.manifest.inputs[0].shape[-1],
                "horizon": pre.horizon,
                "max_windows": served.batching.max_batch_size,
            }
        )
    return described


def feature_fields(entry: ModelEntry) -> list[str]:
    """One form field per feature: the manifest's names, else ``feature 1`` ... ``feature F``."""
    if entry.feature_names:
        return entry.feature_names
    plane = get_services().plane
    width = plane.model(entry.name, entry.version).manifest.inputs[0].shape[-1]
    return [f"feature {i + 1}" for i in range(max(width, 1))]


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


@bp.post("/detect")
def detect() -> ResponseReturnValue:
    """Read the number of the wide pad's drawing or of the uploaded picture (``image``)."""
    name, version = split_model_choice(request.form.get("model"))
    answer = detect_upload(name, version)
    if wants_json():
        return jsonify(answer)
    return render_index(detection=answer)


@bp.post("/predict/fields")
def predict_fields() -> ResponseReturnValue:
    """The form of a model that is not the digits canvas (features, text or JSON rows)."""
    name, version = split_model_choice(request.form.get("model"))
    services = get_services()
    plane = services.plane
    served = plane.model(name or "", version)
    entry = next(
        e for e in plane.catalogue() if (e.name, e.version) == (served.name, served.version)
    )
    filled: dict[str, Any] = {}
    try:
        inputs, filled = inputs_from_form(entry.widget, request.form, len(feature_fields(entry)))
        answer = plane.call(
            plane.predict(
                {"model": served.name, "version": served.version, "inputs": inputs},
                request_context("predict"),
            )
        )
    except ToolkitError as exc:
        if wants_json():
            raise
        sentence = str(exc)[:1].upper() + str(exc)[1:]
        return render_index(error=sentence, model=served.name, filled=filled), exc.status
    note_answer(answer)
    if wants_json():
        return jsonify(answer)
    return render_index(prediction=answer, filled=filled)


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
