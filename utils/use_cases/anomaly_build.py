"""The anomaly pipeline behind `make anomaly`: fit both detectors, choose thresholds on the
validation years, export, check parity, score the held-out years, publish the better one."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers.manifest import Manifest, ParityReport, SourceInfo, VersionInfo
from utils.testing.parity import compare_outputs
from utils.use_cases.anomaly import (
    FEATURES,
    FLAG,
    SCORE,
    Detector,
    anomaly_manifest,
    best_threshold,
    export_isolation_forest,
    export_residual,
    feature_module,
    last_point_windows,
    residual_module,
    scenario_copies,
    torch_run,
    train_isolation_forest,
)
from utils.use_cases.forecasting import load_source
from utils.use_cases.injection import DetectionScore, Event, Kind, score_flags
from utils.use_cases.publish import publish_fresh
from utils.use_cases.series import Co2, Series, load_co2

COPIES: Final[int] = 4
"""Injected copies per kind and period (each holds about five events)."""
VALIDATION_SEED: Final[int] = 1
TEST_SEED: Final[int] = 1000
SCORE_ATOL: Final[dict[Detector, float]] = {
    Detector.FORECAST_RESIDUAL: 1e-3,
    # trees compare float32 features with float32 split values in ONNX, float64 in
    # scikit-learn: a feature on a split edge may take the other branch (STACK.md)
    Detector.ISOLATION_FOREST: 5e-2,
}
MIN_FLAG_AGREEMENT: Final[float] = 0.99


@dataclass
class Scenario:
    """One injected copy of the series and the windows whose newest point is scored."""

    values: Series
    events: list[Event]
    first: int
    windows: Series

    @property
    def kind(self) -> Kind:
        return self.events[0].kind


def scenarios(
    series: Co2, *, first: int, last: int, width: int, seed: int, copies: int = COPIES
) -> list[Scenario]:
    """Injected copies with their scored windows (newest point t in [first, last))."""
    return [
        Scenario(values, events, first, last_point_windows(values, first, last, width))
        for values, events in scenario_copies(
            series.values, first=first, last=last, copies=copies, seed=seed
        )
    ]


def held_out_scenarios(width: int) -> list[Scenario]:
    """The held-out copies every reported figure is computed on (deterministic)."""
    series = load_co2()
    return scenarios(
        series, first=series.test_start, last=len(series.values), width=width, seed=TEST_SEED
    )


def score_by_kind(
    flags_per_scenario: list[NDArray[np.bool_]], cases: list[Scenario]
) -> dict[str, DetectionScore]:
    """Pool each kind's copies into one score."""
    out: dict[str, DetectionScore] = {}
    for flags, case in zip(flags_per_scenario, cases, strict=True):
        got = score_flags(flags, case.events, case.first)
        out[case.kind.value] = out[case.kind.value] + got if case.kind.value in out else got
    return out


@dataclass
class DetectorResult:
    """One detector: its file, threshold, parity and held-out detection figures."""

    detector: Detector
    onnx: Path
    threshold: float
    parity: ParityReport
    validation_mean_f1: float
    held_out: dict[str, DetectionScore]
    false_alarms_clean: int
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def mean_f1(self) -> float:
        return float(np.mean([s.f1 for s in self.held_out.values()]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "validation_mean_f1": self.validation_mean_f1,
            "held_out_mean_f1": self.mean_f1,
            "false_alarms_on_clean_held_out_weeks": self.false_alarms_clean,
            "per_kind": {k: s.to_dict() for k, s in self.held_out.items()},
            "parity": self.parity.model_dump(),
            **self.details,
        }


@dataclass
class AnomalyBuild:
    """Both detectors measured, and which one is published."""

    width: int
    results: dict[Detector, DetectorResult]
    chosen: Detector

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.width,
            "evaluation": (
                f"held-out 2000-2001, {COPIES} injected copies per kind; recall per event, "
                "precision per flag"
            ),
            "chosen": self.chosen.value,
            "chosen_by": "mean F1 over the kinds on the validation years (1998-1999)",
            "detectors": {d.value: r.to_dict() for d, r in self.results.items()},
        }

    def publish(self, repository: Path, name: str = "anomaly") -> Path:
        """Write ``repository/name`` afresh with the chosen detector as version 1."""
        result = self.results[self.chosen]
        template: Manifest = anomaly_manifest(name, self.width, result.threshold, self.chosen)
        info = VersionInfo(
            sha256="0" * 64,
            size_bytes=0,
            variant="fp32",
            opset=17,
            source=SourceInfo(
                framework="torch" if self.chosen is Detector.FORECAST_RESIDUAL else "sklearn",
                file="forecast.pt" if self.chosen is Detector.FORECAST_RESIDUAL else None,
            ),
            parity=result.parity,
            metrics={
                "held_out_mean_f1": result.mean_f1,
                **{f"f1_{k}": s.f1 for k, s in result.held_out.items()},
            },
            details={"detector": self.chosen.value, **result.details},
        )
        return publish_fresh(repository, template, [(result.onnx, info)])


def onnx_detect(session: Any, windows: Series) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Run a published anomaly graph: (score [N], is_anomaly [N])."""
    score, flag = session.run([SCORE, FLAG], {"window": windows})
    return score, flag


def _measure(
    detector: Detector,
    onnx_file: Path,
    source: Callable[[Series], NDArray[np.float32]],
    threshold: float,
    validation_f1: float,
    series: Co2,
    test_cases: list[Scenario],
    width: int,
    details: dict[str, Any],
) -> DetectorResult:
    from utils.runtime import create_session

    session = create_session(onnx_file)
    clean = last_point_windows(series.values, series.test_start, len(series.values), width)
    probe = np.concatenate([clean, *(c.windows for c in test_cases)])
    ref_score = source(probe)
    got_score, got_flag = onnx_detect(session, probe)
    parity = compare_outputs(
        [ref_score, ref_score >= threshold],
        [got_score, got_flag],
        [SCORE, FLAG],
        atol=SCORE_ATOL[detector],
        min_label_agreement=MIN_FLAG_AGREEMENT,
        label_output=FLAG,
    )
    flags = [onnx_detect(session, c.windows)[1] for c in test_cases]
    return DetectorResult(
        detector=detector,
        onnx=onnx_file,
        threshold=threshold,
        parity=parity,
        validation_mean_f1=validation_f1,
        held_out=score_by_kind(flags, test_cases),
        false_alarms_clean=int(onnx_detect(session, clean)[1].sum()),
        details=details,
    )


def _validation_f1(scores: list[NDArray[np.float32]], cases: list[Scenario], t: float) -> float:
    by_kind = score_by_kind([s >= t for s in scores], cases)
    return float(np.mean([s.f1 for s in by_kind.values()]))


def build_anomaly(
    work: Path, forecaster_source: Path, *, log: Callable[[str], object] = lambda _: None
) -> AnomalyBuild:
    """Fit, threshold, export and measure both detectors in ``work``."""
    import torch

    series = load_co2()
    forecaster = load_source(forecaster_source)
    width = int(forecaster.linear.in_features) + 1
    validation = scenarios(
        series,
        first=series.validation_start,
        last=series.test_start,
        width=width,
        seed=VALIDATION_SEED,
    )
    test_cases = held_out_scenarios(width)

    log("1/3 forecast residuals: residual spread on the clean validation years")
    clean_val = last_point_windows(series.values, series.validation_start, series.test_start, width)
    with torch.no_grad():
        predicted = forecaster(torch.from_numpy(clean_val[:, :-1]))[:, 0].numpy()
    residual = clean_val[:, -1] - predicted
    sigma = float(1.4826 * np.median(np.abs(residual - np.median(residual))))
    scorer = residual_module(forecaster, sigma, 0.0)

    def residual_scores(windows: Series) -> NDArray[np.float32]:
        return torch_run(scorer, windows)[0]

    log("2/3 isolation forest on level-free features of the clean training years")
    train_windows = last_point_windows(series.values, width - 1, series.validation_start, width)
    forest = train_isolation_forest(train_windows)
    features = feature_module()

    def forest_scores(windows: Series) -> NDArray[np.float32]:
        out: NDArray[np.float32] = -forest.decision_function(torch_run(features, windows)[0])
        return out.astype(np.float32)

    sources = {
        Detector.FORECAST_RESIDUAL: residual_scores,
        Detector.ISOLATION_FOREST: forest_scores,
    }
    log("3/3 thresholds on the validation years, then the held-out years through ONNX")
    results = {}
    for detector, source in sources.items():
        val_scores = [source(c.windows) for c in validation]
        threshold = best_threshold(
            [(s, c.events, c.first) for s, c in zip(val_scores, validation, strict=True)]
        )
        onnx_file = work / f"{detector.value}.onnx"
        if detector is Detector.FORECAST_RESIDUAL:
            export_residual(residual_module(forecaster, sigma, threshold), width, onnx_file)
            details: dict[str, Any] = {"residual_sigma_ppm": sigma}
        else:
            export_isolation_forest(forest, width, threshold, onnx_file)
            details = {"features": list(FEATURES), "train_windows": len(train_windows)}
        results[detector] = _measure(
            detector,
            onnx_file,
            source,
            threshold,
            _validation_f1(val_scores, validation, threshold),
            series,
            test_cases,
            width,
            details,
        )
    chosen = max(results, key=lambda d: results[d].validation_mean_f1)
    return AnomalyBuild(width, results, chosen)


def write_held_out_data(path: Path, width: int) -> Path:
    """The injected held-out copies as JSON (values and labelled events), for tests/readers."""
    cases = held_out_scenarios(width)
    rows = [
        {
            "kind": c.kind.value,
            "first": c.first,
            "values": [round(float(v), 4) for v in c.values[c.first - width + 1 :]],
            "events": [[e.start, e.stop] for e in c.events],
        }
        for c in cases
    ]
    path.write_text(json.dumps({"window": width, "copies": rows}) + "\n")
    return path
