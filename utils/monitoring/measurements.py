"""The figures ``docs/monitoring.md`` quotes, measured by ``python -m utils.monitoring measure``.

Results go to ``out/monitoring/results.json``; ``--update-reference`` also merges them
into ``docs/monitoring_results.json``, the committed file the guide is checked against
(``tests/monitoring/test_guide.py``).
"""

from __future__ import annotations

import gc
import json
import platform
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

REFERENCE: Final[Path] = Path(__file__).resolve().parents[2] / "docs" / "monitoring_results.json"


def drift(*, quick: bool = False) -> dict[str, Any]:
    from utils.conversion.profile import digits_reference_profile
    from utils.monitoring import drift_evaluation

    profile = digits_reference_profile()
    return {
        "false_alarms": drift_evaluation.false_alarms(profile, requests=2000 if quick else 10_000),
        "detection_delay": drift_evaluation.delays(profile, seeds=2 if quick else 5),
        "estimated_accuracy": drift_evaluation.estimated_accuracy_gap(),
        "class_test_chance": drift_evaluation.class_test_chance(draws=500 if quick else 2000),
        "profile_json_bytes": _profile_sizes(profile),
    }


def _profile_sizes(digits: dict[str, Any]) -> dict[str, int]:
    """JSON size of the digits profile and of one of 64 continuous features (2,000 rows)."""
    import numpy as np

    from utils.monitoring.profile import reference_profile

    continuous = np.random.default_rng(0).normal(size=(2000, 64))
    profile = reference_profile(continuous, None, [], source="normal")
    return {
        "digits_64_pixels": len(json.dumps(digits)),
        "continuous_64_features": len(json.dumps(profile)),
    }


def durability(*, quick: bool = False) -> dict[str, Any]:
    from utils.monitoring.durability import kill_under_load
    from utils.monitoring.prediction_log import Durability, WriterPlacement
    from utils.monitoring.throwaway_postgres import start_cluster

    seconds = 2.0 if quick else 5.0
    out: dict[str, Any] = {}
    cluster = start_cluster()
    try:
        with tempfile.TemporaryDirectory() as folder:
            runs = [
                (Durability.SYNCHRONOUS, WriterPlacement.THREAD),
                (Durability.FAST, WriterPlacement.THREAD),
                (Durability.FAST, WriterPlacement.PROCESS),
            ]
            for mode, writer in runs:
                name = mode.value if mode is Durability.SYNCHRONOUS else f"{mode.value} {writer}"
                out[f"sqlite {name}"] = kill_under_load(
                    f"sqlite:///{folder}/{mode.value}-{writer}.sqlite3",
                    mode,
                    seconds=seconds,
                    writer=writer,
                )
                out[f"postgresql {name}"] = kill_under_load(
                    cluster.create_database(), mode, seconds=seconds, writer=writer
                )
    finally:
        cluster.stop()
    return out


def best_per_call_us(call: Any, items: Sequence[Any], chunks: int = 10) -> float:
    """Microseconds per call in the fastest of ``chunks`` runs, garbage collection off (as
    timeit does): other processes on a shared machine only ever add time, and tens of
    thousands of queued records make collections, not the call, the cost."""
    size = max(len(items) // chunks, 1)
    best = float("inf")
    gc.disable()
    try:
        for start in range(0, len(items) - size + 1, size):
            began = time.perf_counter()
            for item in items[start : start + size]:
                call(item)
            best = min(best, (time.perf_counter() - began) / size)
    finally:
        gc.enable()
    return round(best * 1e6, 2)


def cost(*, quick: bool = False) -> dict[str, Any]:
    """Per-request cost of the calls the data plane makes, and the writer's throughput."""
    import numpy as np
    from prometheus_client import CollectorRegistry

    from utils.conversion.profile import digits_reference_profile
    from utils.digits import load_split
    from utils.monitoring.drift import detect_drift
    from utils.monitoring.model_monitor import ModelMonitor, MonitoringConfig
    from utils.monitoring.prediction_log import PredictionLog, PredictionLogConfig
    from utils.monitoring.records import PredictionRecord

    count = 5000 if quick else 50_000
    images = np.resize(load_split().x_test, (count, 8, 8)).reshape(count, 1, 1, 8, 8)
    profile = digits_reference_profile()

    def records() -> list[PredictionRecord]:
        return [
            PredictionRecord(
                f"r{i}",
                "digits",
                "1",
                0.3,
                inputs={"input": images[i]},
                labels=["3"],
                confidences=[0.9],
                client="k",
            )
            for i in range(count)
        ]

    gc.disable()
    started = time.perf_counter()
    built = records()
    build_us = round((time.perf_counter() - started) / count * 1e6, 2)
    gc.enable()

    def paused(url: str) -> PredictionLogConfig:
        """A writer that sleeps until flushed: the call alone is timed."""
        return PredictionLogConfig(
            url=url, queue_size=count + 1, batch_size=10**9, flush_interval_s=3600.0
        )

    with tempfile.TemporaryDirectory() as folder:
        log = PredictionLog(paused(f"sqlite:///{folder}/a.sqlite3"))
        record_us = best_per_call_us(log.record, built)
        started = time.perf_counter()
        log.flush(600)
        writer_rows_per_s = round(count / (time.perf_counter() - started))
        log.close()
        config = MonitoringConfig(prediction_log=paused(f"sqlite:///{folder}/b.sqlite3"))
        monitor = ModelMonitor(CollectorRegistry(), config)
        monitor.watch("digits", "1", profile=profile, labels=[str(d) for d in range(10)])
        observe_us = best_per_call_us(monitor.observe, records())
        monitor.close()
    window = load_split().x_test[np.arange(500) % 360]
    started = time.perf_counter()
    for _ in range(5):
        detect_drift(profile, window, ["3"] * 500)
    drift_ms = round((time.perf_counter() - started) / 5 * 1000, 1)
    return {
        "records": count,
        "build_record_us": build_us,
        "prediction_log_record_us": record_us,
        "model_monitor_observe_us": observe_us,
        "writer_rows_per_s_sqlite": writer_rows_per_s,
        "drift_window_500x64_ms": drift_ms,
    }


MEASURES = {"drift": drift, "durability": durability, "cost": cost}


def run(what: Sequence[str], *, out: Path, quick: bool = False) -> dict[str, Any]:
    """Run the named measurements; returns ``{name: results}`` plus where and when."""
    unknown = sorted(set(what) - set(MEASURES))
    if unknown:
        from utils.errors import BadInput

        raise BadInput(f"unknown measurement(s) {unknown}: choose from {sorted(MEASURES)}")
    results: dict[str, Any] = {}
    for name in what:
        results[name] = {
            **MEASURES[name](quick=quick),
            "measured_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {platform.python_version()}",
            "quick": quick,
            "command": f"python -m utils.monitoring measure {name}" + (" --quick" if quick else ""),
        }
    return results


def save(results: dict[str, Any], *, out: Path, update_reference: bool = False) -> Path:
    """Write ``out/results.json`` (merged with earlier runs); the reference too when asked."""
    targets = [out / "results.json"] + ([REFERENCE] if update_reference else [])
    for path in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        merged = json.loads(path.read_text()) if path.is_file() else {}
        merged.update(results)
        path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    return targets[-1]
