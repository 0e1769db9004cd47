"""Drift scores (utils.monitoring.drift) and their place in the monitoring feed (drift
verdicts from the prediction log, per feature and per model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

from utils.digits import load_split
from utils.errors import BadInput
from utils.monitoring.drift import drift_score, population_stability_index


@pytest.fixture(scope="module")
def profile(model_repository: Path) -> dict[str, Any]:
    """The training profile stored in the committed digits_torch manifest."""
    manifest = json.loads((model_repository / "digits_torch" / "manifest.json").read_text())
    assert manifest["reference_profile"], "the manifest carries no reference profile"
    return dict(manifest["reference_profile"])


def test_psi_of_a_distribution_against_itself_is_zero() -> None:
    assert population_stability_index([0.2, 0.3, 0.5], [20, 30, 50]) == pytest.approx(0.0)


def test_psi_of_a_strong_shift_is_above_the_major_threshold() -> None:
    assert population_stability_index([0.5, 0.5], [0.9, 0.1]) > 0.25


def test_psi_of_bins_that_differ_is_refused_as_bad_input_with_status_400() -> None:
    with pytest.raises(BadInput, match="same non-empty bins") as refused:
        population_stability_index([0.5, 0.5], [0.2, 0.3, 0.5])
    assert refused.value.status == 400


def test_a_profile_of_another_kind_is_refused_as_bad_input(profile: dict[str, Any]) -> None:
    with pytest.raises(BadInput, match="unsupported reference profile kind 'moments-v0'"):
        drift_score({**profile, "kind": "moments-v0"}, load_split().x_test[:120])


def test_samples_with_another_number_of_features_are_refused_as_bad_input(
    profile: dict[str, Any],
) -> None:
    samples = load_split().x_test[:120].reshape(120, -1)[:, :32]
    with pytest.raises(BadInput, match="32 features, the reference profile 64"):
        drift_score(profile, samples)


def test_held_out_digits_read_as_stable(profile: dict[str, Any]) -> None:
    split = load_split()
    score = drift_score(profile, split.x_test[:200], [str(y) for y in split.y_test[:200]])
    assert score.level == "stable"


def test_inverted_digits_read_as_a_major_shift(profile: dict[str, Any]) -> None:
    inverted = 1.0 - load_split().x_test[:200]
    assert drift_score(profile, inverted).level == "major"


def test_a_few_dozen_inputs_give_no_verdict(profile: dict[str, Any]) -> None:
    assert drift_score(profile, load_split().x_test[:50]).level == "too-few-samples"


def test_chance_alone_does_not_raise_the_score_of_a_small_sample(profile: dict[str, Any]) -> None:
    x = load_split().x_test
    small, large = drift_score(profile, x[:100]), drift_score(profile, x[:350])
    assert small.input_psi_mean < 0.1 and abs(small.input_psi_mean - large.input_psi_mean) < 0.05


def send_in_batches(client: FlaskClient, images: np.ndarray) -> tuple[str, str]:
    """POST the images 60 at a time (the API's batch limit is 64); return the model and
    version that answered."""
    answer: dict[str, Any] = {}
    for start in range(0, len(images), 60):
        batch = images[start : start + 60].tolist()
        answer = client.post("/api/predict", json={"inputs": batch}).get_json()
    return answer["model"], str(answer["version"])


def watch_of(client: FlaskClient, model: tuple[str, str]) -> dict[str, Any]:
    """The monitoring feed's entry for a (model, version) (drift, accuracy, coverage)."""
    watch = client.get("/monitoring/stats").get_json()["watch"]
    return next(entry for entry in watch if (entry["model"], entry["version"]) == model)


def test_stats_feed_tests_the_inputs_each_model_saw_feature_by_feature(
    client: FlaskClient,
) -> None:
    model = send_in_batches(client, load_split().x_test[:120])
    drift = watch_of(client, model)["drift"]
    assert drift["samples"] == 120 and drift["inputs_drifted"] is False
    assert len(drift["features"]) == 64


def test_stats_feed_flags_inverted_inputs_as_drift(client: FlaskClient) -> None:
    model = send_in_batches(client, 1.0 - load_split().x_test[:120])
    assert watch_of(client, model)["drift"]["inputs_drifted"] is True


def test_stats_feed_watches_every_served_model_before_any_request(client: FlaskClient) -> None:
    served = {
        m["name"] for m in client.get("/api/models").get_json()["models"] if m["state"] == "READY"
    }
    watched = {entry["model"] for entry in client.get("/monitoring/stats").get_json()["watch"]}
    assert watched == served
