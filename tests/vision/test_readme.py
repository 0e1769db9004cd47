"""TP_ONNX/use_cases/vision/README.md quotes the committed results, table for table."""

from __future__ import annotations

import json

import pytest

from utils.paths import PROJECT_ROOT
from utils.vision.report import detector_sentence, detector_table, drawings_table

VISION = PROJECT_ROOT / "TP_ONNX" / "use_cases" / "vision"


def _result(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((VISION / "results" / name).read_text())


@pytest.mark.parametrize("name", ["drawings_before.json", "drawings.json"])
def test_the_readme_holds_the_drawings_table_of_each_results_file(name: str) -> None:
    assert drawings_table(_result(name)) in (VISION / "README.md").read_text()


def test_the_readme_holds_the_detector_table_of_the_results_file() -> None:
    assert detector_table(_result("detector.json")) in (VISION / "README.md").read_text()


@pytest.mark.parametrize(
    "readme", ["TP_ONNX/use_cases/vision/README.md", "TP_Flask/README.md"], ids=["vision", "flask"]
)
def test_the_readmes_that_serve_the_detector_quote_its_figure_from_the_results(
    readme: str,
) -> None:
    text = " ".join((PROJECT_ROOT / readme).read_text().split())  # line breaks as spaces
    assert detector_sentence(_result("detector.json")) in text


def test_the_committed_detector_results_measure_the_published_detector() -> None:
    from utils.deployment_helpers.manifest import read_manifest

    result = _result("detector.json")
    manifest = read_manifest(PROJECT_ROOT / "models" / result["detector"])
    own = result["rows"][0]
    recorded = manifest.version(result["version"]).metrics
    assert own["number_accuracy"] == pytest.approx(recorded["number_accuracy"], abs=1e-6)


def test_every_served_digits_model_reads_at_least_95_percent_of_the_drawings() -> None:
    rows = _result("drawings.json")["rows"]
    assert rows and all(r["drawings_accuracy"] >= 0.95 for r in rows), rows


def test_every_fp32_digits_model_keeps_98_percent_on_the_held_out_digits() -> None:
    rows = [r for r in _result("drawings.json")["rows"] if r["variant"] == "fp32"]
    assert len(rows) == 3 and all(r["held_out_accuracy"] >= 0.98 for r in rows), rows
