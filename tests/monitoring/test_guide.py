"""docs/monitoring.md quotes docs/monitoring_results.json exactly (so they cannot drift),
and names real files and make targets."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "monitoring.md"
RESULTS = ROOT / "docs" / "monitoring_results.json"


def _requests(value: float | None) -> str:
    return "not within 2,000" if value is None else f"{value:.0f}"


def _percent(share: float) -> str:
    return f"{share * 100:.1f} %"


def quoted(results: dict[str, Any]) -> dict[str, str]:
    """Each measured passage of the guide, by the place it fills, from the results file."""
    drift, durability, cost = results["drift"], results["durability"], results["cost"]
    alarms = drift["false_alarms"]
    gap = drift["estimated_accuracy"]
    sizes = drift["profile_json_bytes"]
    return {
        "FALSE_ALARMS": "\n".join(
            [
                f"| inputs | {_percent(alarms['false_alarm_rate_inputs'])} |",
                f"| predictions | {_percent(alarms['false_alarm_rate_predictions'])} |",
                f"| either signal | {_percent(alarms['false_alarm_rate_either'])} |",
            ]
        ),
        "DELAYS": "\n".join(
            f"| {shift} | {_requests(d['inputs_median_requests'])} | "
            f"{_requests(d['predictions_median_requests'])} |"
            for shift, d in drift["detection_delay"].items()
        ),
        "CHANCE": "\n".join(
            f"  | {size} rows | {_percent(c['jensen_shannon_at_least_0.1'])} | "
            f"{_percent(c['chi_square_p_below_0.05'])} |"
            for size, c in drift["class_test_chance"].items()
        ),
        "CHI_ALONE": _percent(alarms["predictions_chi_square_alone"]),
        "JS_ALONE": _percent(alarms["predictions_jensen_shannon_alone"]),
        "BOTH": _percent(alarms["false_alarm_rate_predictions"]),
        "GAP": (
            f"accuracy {gap['accuracy']:.4f}, estimated accuracy {gap['estimated_accuracy']:.4f}"
        ),
        "PROFILE": (
            f"{sizes['digits_64_pixels']:,} bytes for the 64 digit pixels, "
            f"{sizes['continuous_64_features']:,} for 64 continuous features"
        ),
        "DURABILITY": "\n".join(
            f"| {name.split()[0]} | {name.split()[1]} | {run['writer']} | "
            f"{run['acknowledged_per_s']:.0f} | "
            f"{run['acknowledged']} | {run['missing']} |"
            for name, run in durability.items()
            if isinstance(run, dict)
        ),
        "COST": "\n".join(
            f"| {call} | {value} |"
            for call, value in [
                (
                    "`PredictionRecord(...)`, built by the caller",
                    f"{cost['build_record_us']:.1f} us",
                ),
                ("`PredictionLog.record`", f"{cost['prediction_log_record_us']:.2f} us"),
                (
                    "`ModelMonitor.observe`: drift window, metrics, log",
                    f"{cost['model_monitor_observe_us']:.1f} us",
                ),
                (
                    "writer thread, SQLite, off the request path",
                    f"{cost['writer_rows_per_s_sqlite']:,} rows/s",
                ),
                (
                    "drift verdict of 500 rows x 64 features, at scrape time",
                    f"{cost['drift_window_500x64_ms']:.0f} ms",
                ),
            ]
        ),
    }


def test_every_measured_figure_in_the_guide_is_the_committed_one() -> None:
    text = GUIDE.read_text()
    passages = quoted(json.loads(RESULTS.read_text()))
    stale = {place: passage for place, passage in passages.items() if passage not in text}
    assert stale == {}, "put these passages in docs/monitoring.md:\n" + "\n".join(stale.values())


def test_the_guide_names_only_files_that_exist() -> None:
    named = re.findall(r"`((?:deploy|tests|docs|utils|models)/[\w./-]+)`", GUIDE.read_text())
    assert named and [p for p in named if not (ROOT / p.rstrip("/")).exists()] == []


def test_the_guide_names_only_make_targets_that_exist() -> None:
    targets = set(re.findall(r"^([a-zA-Z_-]+):", (ROOT / "Makefile").read_text(), flags=re.M))
    assert sorted(set(re.findall(r"\bmake ([a-z][a-z-]+)", GUIDE.read_text())) - targets) == []
