"""The page serves any model of the repository, chosen by its input kind (issue 11): a
tabular model gets a form with one field per feature, named from its manifest."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from TP_Flask.app import create_app
from TP_Flask.settings import Settings
from utils.testing.toy_models import IRIS_FEATURES, publish_tabular_classifier


@pytest.fixture
def mixed_client(tmp_path: Path, model_repository: Path) -> FlaskClient:
    """digits_torch (the canvas) beside a tabular iris classifier."""
    repository = tmp_path / "models"
    shutil.copytree(model_repository / "digits_torch", repository / "digits_torch")
    publish_tabular_classifier(repository, "iris_toy")
    settings = Settings(model_repository=repository, log_format="text", rate_limit="")
    return create_app(settings).test_client()


def test_the_model_query_opens_the_page_of_that_model(mixed_client: FlaskClient) -> None:
    html = mixed_client.get("/?model=iris_toy").get_data(as_text=True)
    assert "Ask iris_toy" in html and '<canvas id="pad"' not in html


def test_a_tabular_model_gets_one_field_per_feature_named_from_its_manifest(
    mixed_client: FlaskClient,
) -> None:
    html = mixed_client.get("/?model=iris_toy").get_data(as_text=True)
    fields = re.findall(r'data-feature="([^"]+)"', html)
    assert fields == list(IRIS_FEATURES)


def test_the_switcher_lists_every_served_model(mixed_client: FlaskClient) -> None:
    html = mixed_client.get("/").get_data(as_text=True)
    assert re.findall(r'<option value="(\w+)"', html)[:2] == ["digits_torch", "iris_toy"]


def test_the_default_page_is_still_the_digits_canvas(mixed_client: FlaskClient) -> None:
    assert '<canvas id="pad"' in mixed_client.get("/").get_data(as_text=True)


def _token(client: FlaskClient) -> str:
    html = client.get("/?model=iris_toy").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_the_feature_form_posted_without_javascript_shows_the_label(
    mixed_client: FlaskClient,
) -> None:
    form = {f"feature_{i}": v for i, v in enumerate(["5.1", "3.5", "1.4", "0.2"])}
    form.update(csrf_token=_token(mixed_client), model="iris_toy/1")
    html = mixed_client.post("/predict/fields", data=form).get_data(as_text=True)
    label = re.search(r'<span class="answer-label">([^<]+)</span>', html)
    assert label and label.group(1) in ("setosa", "versicolor", "virginica")


def test_a_feature_that_is_not_a_number_is_shown_beside_the_form(
    mixed_client: FlaskClient,
) -> None:
    form = {f"feature_{i}": "x" for i in range(4)}
    form.update(csrf_token=_token(mixed_client), model="iris_toy/1")
    response = mixed_client.post("/predict/fields", data=form)
    assert response.status_code == 400
    assert "Every feature needs a number" in response.get_data(as_text=True)


def test_the_json_api_takes_rows_for_a_tabular_model(mixed_client: FlaskClient) -> None:
    body = {"model": "iris_toy", "inputs": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}
    answer = mixed_client.post("/api/predict", json=body).get_json()
    assert [p["label"] in answer["labels"] for p in answer["predictions"]] == [True, True]


def test_the_json_api_takes_a_row_as_an_object_by_feature_name(mixed_client: FlaskClient) -> None:
    row = dict(zip(IRIS_FEATURES, [5.1, 3.5, 1.4, 0.2], strict=True))
    response = mixed_client.post("/api/predict", json={"model": "iris_toy", "inputs": row})
    assert response.status_code == 200


def test_a_row_of_the_wrong_width_is_told_the_models_own_features(
    mixed_client: FlaskClient,
) -> None:
    response = mixed_client.post("/api/predict", json={"model": "iris_toy", "inputs": [[0.5] * 64]})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert "rows of 4 numbers (sepal length (cm)" in error and "8x8" not in error


def test_a_string_in_a_row_is_told_the_models_own_features(mixed_client: FlaskClient) -> None:
    body = {"model": "iris_toy", "inputs": [["5.1", "3.5", "1.4", "0.2"]]}
    error = mixed_client.post("/api/predict", json=body).get_json()["error"]
    assert "strings" in error and "rows of 4 numbers (sepal length (cm)" in error


def test_a_nan_written_by_pythons_json_is_refused_naming_the_models_features(
    mixed_client: FlaskClient,
) -> None:
    """``json.dumps`` (so ``requests.post(json=...)``) writes NaN, which JSON has not."""
    body = json.dumps({"model": "iris_toy", "inputs": [[5.1, float("nan"), 1.4, 0.2]]})
    response = mixed_client.post("/api/predict", data=body, content_type="application/json")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert "NaN" in error and "rows of 4 numbers (sepal length (cm)" in error


def test_a_body_that_is_not_json_for_another_reason_is_still_refused_as_such(
    mixed_client: FlaskClient,
) -> None:
    body = b'{"model": "iris_toy", "inputs": [[5.1, Nope, 1.4, 0.2]]}'
    response = mixed_client.post("/api/predict", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("the body is not valid JSON")
