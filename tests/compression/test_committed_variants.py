"""The compressed versions committed in models/ are what the pipeline says they are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from utils.compression.evaluate import digits_accuracy, predict_labels, rescore_tolerance
from utils.deployment_helpers.manifest import read_manifest
from utils.digits import load_split
from utils.io import sha256_file
from utils.paths import DEFAULT_MODEL_REPOSITORY


def _compressed_versions() -> list[tuple[str, int]]:
    found = []
    for folder in sorted(DEFAULT_MODEL_REPOSITORY.glob("digits_*")):
        if (folder / "manifest.json").is_file():
            manifest = read_manifest(folder)
            found += [
                (folder.name, int(v))
                for v, info in manifest.versions.items()
                if info.variant != "fp32"
            ]
    return found


VERSIONS = _compressed_versions()


def test_the_committed_repository_holds_compressed_digits_versions() -> None:
    """Guards the parametrized tests below: with no version found they would all vanish."""
    assert VERSIONS, (
        "no compressed digits version in models/: they are committed, so this clone is"
        " incomplete (git restore models/, or rebuild with `make compress`)"
    )


def _file(name: str, version: int) -> Path:
    manifest = read_manifest(DEFAULT_MODEL_REPOSITORY / name)
    return DEFAULT_MODEL_REPOSITORY / name / str(version) / manifest.version(version).file


@pytest.mark.parametrize(("name", "version"), VERSIONS)
def test_committed_variant_accuracy_is_the_one_its_manifest_records(
    name: str, version: int
) -> None:
    record = read_manifest(DEFAULT_MODEL_REPOSITORY / name).version(version)
    tolerance = rescore_tolerance(record.variant, len(load_split().y_test))
    assert digits_accuracy(_file(name, version)) == pytest.approx(
        record.metrics["accuracy"], abs=tolerance
    )


@pytest.mark.parametrize(("name", "version"), VERSIONS)
def test_committed_variant_stays_inside_its_accuracy_budget(name: str, version: int) -> None:
    record = read_manifest(DEFAULT_MODEL_REPOSITORY / name).version(version)
    assert record.accuracy_budget is not None
    assert (
        record.metrics["baseline_accuracy"] - record.metrics["accuracy"]
        <= record.accuracy_budget + 1e-9
    )


@pytest.mark.parametrize(("name", "version"), VERSIONS)
def test_committed_variant_labels_agree_with_fp32_on_the_held_out_digits(
    name: str, version: int
) -> None:
    images = load_split().x_test
    agreement = np.mean(
        predict_labels(_file(name, 1), images) == predict_labels(_file(name, version), images)
    )
    assert agreement >= 0.98


@pytest.mark.parametrize(("name", "version"), VERSIONS)
def test_committed_variant_was_compressed_from_the_committed_fp32_file(
    name: str, version: int
) -> None:
    record = read_manifest(DEFAULT_MODEL_REPOSITORY / name).version(version)
    assert record.details["source_sha256"] == sha256_file(_file(name, 1))
