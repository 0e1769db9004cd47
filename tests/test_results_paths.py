"""Experiments write out/; only an explicit update writes the committed reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from utils.paths import PROJECT_ROOT
from utils.results import OUT, results_path


def test_an_experiment_writes_the_same_relative_path_under_out() -> None:
    reference = PROJECT_ROOT / "TP_Quantization" / "results" / "minilm.json"
    assert results_path(reference, update_reference=False) == (
        OUT / "TP_Quantization" / "results" / "minilm.json"
    )


def test_update_reference_writes_the_committed_file() -> None:
    reference = PROJECT_ROOT / "deploy" / "SIZES.json"
    assert results_path(reference, update_reference=True) == reference


def test_recording_a_size_in_a_test_run_leaves_deploy_sizes_json_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.shipping import sizes

    before = sizes.SIZES_FILE.read_bytes()
    monkeypatch.delenv("UPDATE_REFERENCE", raising=False)
    sizes.record_size("probe_for_a_test", 1, measured_by="tests", note="not a real size")
    assert sizes.SIZES_FILE.read_bytes() == before
    written = results_path(sizes.SIZES_FILE, update_reference=False)
    assert "probe_for_a_test" in Path(written).read_text()
