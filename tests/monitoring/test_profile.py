"""The reference profile carries what the drift tests need, for any input kind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from utils.conversion.profile import reference_profile as conversion_reference_profile
from utils.errors import BadInput
from utils.monitoring.profile import (
    MAX_FEATURES,
    PROFILE_KIND,
    features_of,
    reference_profile,
    reference_sample,
)

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_the_conversion_tools_import_path_still_builds_a_profile() -> None:
    x = np.random.default_rng(0).random((50, 4)).astype(np.float32)
    profile = conversion_reference_profile(
        x, None, [], source="t", feature_names=["a", "b", "c", "d"]
    )
    assert profile["kind"] == PROFILE_KIND and profile["feature_names"] == ["a", "b", "c", "d"]


def test_value_counts_give_back_the_training_column(
    digits_split: Any, digits_profile: dict[str, Any]
) -> None:
    column = digits_split.x_train.reshape(-1, 64)[:, 20].astype(np.float64)
    rebuilt = reference_sample(digits_profile["sketches"][20], len(column))
    assert np.array_equal(rebuilt, np.sort(column))


def test_a_continuous_feature_keeps_its_quantiles() -> None:
    x = np.random.default_rng(0).normal(size=(2000, 3))
    profile = reference_profile(x, None, [], source="normal")
    rebuilt = reference_sample(profile["sketches"][0], 2000)
    assert abs(np.median(rebuilt) - np.median(x[:, 0])) < 0.01
    assert abs(np.quantile(rebuilt, 0.9) - np.quantile(x[:, 0], 0.9)) < 0.02


def test_without_a_value_range_the_histogram_spans_each_features_own_range() -> None:
    x = np.column_stack([np.linspace(0, 1, 100), np.linspace(-50, 50, 100)])
    profile = reference_profile(x, None, [], source="t")
    assert [edges[0] for edges in profile["histogram_edges"]] == [0.0, -50.0]
    assert [edges[-1] for edges in profile["histogram_edges"]] == [1.0, 50.0]


def test_a_large_image_is_reduced_to_chunk_means() -> None:
    images = np.random.default_rng(0).random((20, 3, 32, 32)).astype(np.float32)
    profile = reference_profile(images, None, [], source="images")
    assert profile["features"] == MAX_FEATURES and profile["reduction"]["kind"] == "chunk-mean"
    assert features_of(profile, images[:2]).shape == (2, MAX_FEATURES)


def test_sequences_of_varying_length_are_profiled_by_their_statistics() -> None:
    sequences = [np.arange(n) for n in (3, 7, 12, 5)]
    profile = reference_profile(sequences, None, [], source="token ids")
    assert profile["feature_names"] == ["length", "mean", "std", "min", "max"]
    assert features_of(profile, [np.arange(4)])[0].tolist()[:2] == [4.0, 1.5]


def test_inputs_of_another_size_are_refused(digits_profile: dict[str, Any]) -> None:
    with pytest.raises(BadInput, match="32 features, the reference profile 64"):
        features_of(digits_profile, np.zeros((3, 32)))


def test_feature_names_must_name_every_feature() -> None:
    with pytest.raises(BadInput, match="2 feature names for 3 features"):
        reference_profile(np.zeros((5, 3)), None, [], source="t", feature_names=["a", "b"])


def test_the_digits_profile_stays_small(digits_profile: dict[str, Any]) -> None:
    assert len(json.dumps(digits_profile)) < 30_000


@pytest.mark.parametrize("model", ["digits_torch", "digits_keras", "digits_sklearn"])
def test_the_committed_manifests_carry_the_current_profile(
    model: str, digits_profile: dict[str, Any]
) -> None:
    manifest = json.loads((MODELS / model / "manifest.json").read_text())
    assert manifest["reference_profile"] == json.loads(json.dumps(digits_profile))
