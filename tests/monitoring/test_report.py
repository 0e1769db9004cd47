"""python -m utils.monitoring report: an HTML page with PNG plots, from the log."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from utils.errors import BadInput
from utils.monitoring.drift_monitor import DriftMonitor
from utils.monitoring.prediction_log import PredictionLog, PredictionLogConfig
from utils.monitoring.records import PredictionRecord
from utils.monitoring.report import parse_since

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def logged(tmp_path: Path, digits_profile: dict[str, Any], digits_split: Any) -> str:
    """A log with 300 held-out then 300 inverted digits over the last hour, some refused,
    some with feedback."""
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    featurizer = DriftMonitor()
    featurizer.watch("digits_torch", "1", digits_profile)
    now = time.time()
    images = list(digits_split.x_test[:300]) + list(1.0 - digits_split.x_test[:300])
    truth = [str(y) for y in digits_split.y_test[:300]] * 2
    with PredictionLog(PredictionLogConfig(url=url), featurizer=featurizer.features_of) as log:
        for i, (image, label) in enumerate(zip(images, truth, strict=True)):
            moment = now - 3600 + i * 5
            predicted = label if i < 300 else "1"
            log.record(
                PredictionRecord(
                    f"r{i}",
                    "digits_torch",
                    "1",
                    1.0 + i % 7,
                    inputs={"input": image[None]},
                    labels=[predicted],
                    confidences=[0.9],
                    time=moment,
                )
            )
            if i % 50 == 0:
                log.record(
                    PredictionRecord(
                        f"bad{i}", "digits_torch", "1", 0.2, status=400, error="bad", time=moment
                    )
                )
        log.submit_feedback([{"request_id": f"r{i}", "label": truth[i]} for i in range(0, 600, 3)])
    return url


def test_the_report_writes_html_plots_and_a_summary(logged: str, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "utils.monitoring",
            "report",
            "--model",
            "digits_torch",
            "--since",
            "2h",
            "--url",
            logged,
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    page = (out / "index.html").read_text()
    for plot in ("traffic.png", "latency.png", "errors.png", "drift.png", "accuracy.png"):
        assert (out / plot).stat().st_size > 5_000 and f'src="{plot}"' in page


def test_the_summary_sees_the_drift_the_errors_and_the_accuracy(
    logged: str, tmp_path: Path
) -> None:
    from utils.monitoring.__main__ import main

    assert (
        main(
            [
                "report",
                "--model",
                "digits_torch",
                "--since",
                "2h",
                "--url",
                logged,
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rows"] == 612 and summary["errors"] == 12
    assert summary["inputs_drifted"] is True
    assert 0.4 < summary["live_accuracy"] < 0.7  # right on the first half, wrong on the second


def test_a_model_with_no_traffic_is_an_error_that_says_so(logged: str, tmp_path: Path) -> None:
    from utils.monitoring.__main__ import main

    assert main(["report", "--model", "nobody", "--url", logged, "--out", str(tmp_path)]) == 2


@pytest.mark.parametrize(
    ("text", "seconds_ago"), [("24h", 86400), ("7d", 7 * 86400), ("90m", 5400)]
)
def test_since_reads_relative_durations(text: str, seconds_ago: int) -> None:
    assert parse_since(text, now=1_000_000.0) == 1_000_000.0 - seconds_ago


def test_since_reads_an_iso_date_as_utc() -> None:
    assert parse_since("2026-11-27") == 1795737600.0


def test_since_refuses_anything_else() -> None:
    with pytest.raises(BadInput, match="24h, 7d, 90m"):
        parse_since("yesterday")
