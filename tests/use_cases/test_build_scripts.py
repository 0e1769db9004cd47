"""The build scripts refuse a missing prerequisite in one line, with exit code 2."""

from __future__ import annotations

from pathlib import Path

from tests.use_cases.conftest import run_script


def test_build_sentiment_without_minilm_says_to_run_make_minilm(tmp_path: Path) -> None:
    done = run_script(
        "build_sentiment.py", "--minilm", str(tmp_path / "none"), "--out", str(tmp_path),
        cwd=tmp_path, timeout_s=120,
    )  # fmt: skip
    assert done.returncode == 2 and "make minilm" in done.stderr
    assert not (tmp_path / "models").exists()


def test_build_anomaly_without_the_forecaster_says_to_build_it_first(tmp_path: Path) -> None:
    done = run_script(
        "build_anomaly.py", "--forecaster", str(tmp_path / "none.pt"), "--out", str(tmp_path),
        cwd=tmp_path, timeout_s=120,
    )  # fmt: skip
    assert done.returncode == 2 and "build_forecast.py" in done.stderr
