"""The committed anomaly model: its contract, the threshold it applies, its parity with
its source, the detection figures recomputed from the committed data, and the pipeline
reproducing it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.use_cases.conftest import USE_CASES, committed_model, results, run_script
from utils.runtime import create_session
from utils.use_cases.anomaly import last_point_windows, residual_module, torch_run
from utils.use_cases.anomaly_build import onnx_detect
from utils.use_cases.forecasting import load_source
from utils.use_cases.injection import DetectionScore, Event, Kind, score_flags
from utils.use_cases.series import load_co2

DATA = USE_CASES / "data" / "anomaly_held_out.json"


def _copies() -> list[tuple[str, np.ndarray, list[Event], int]]:
    saved = json.loads(DATA.read_text())
    width = saved["window"]
    out = []
    for row in saved["copies"]:
        values = np.asarray(row["values"], dtype=np.float32)
        windows = np.stack([values[i : i + width] for i in range(len(values) - width + 1)])
        events = [Event(Kind(row["kind"]), a, b) for a, b in row["events"]]
        out.append((row["kind"], windows, events, row["first"]))
    return out


def test_anomaly_takes_a_window_and_answers_a_score_and_a_flag_per_window() -> None:
    manifest, model = committed_model("anomaly")
    session = create_session(model)
    assert (manifest.task, manifest.preprocessing.kind) == ("anomaly", "series")
    assert [(i.name, i.type, i.shape[1]) for i in session.get_inputs()] == [
        ("window", "tensor(float)", manifest.preprocessing.window)
    ]
    assert [(o.name, o.type) for o in session.get_outputs()] == [
        ("score", "tensor(float)"),
        ("is_anomaly", "tensor(bool)"),
    ]


def test_the_graph_flags_exactly_the_scores_at_or_above_the_manifest_threshold() -> None:
    manifest, model = committed_model("anomaly")
    windows = np.concatenate([w for _, w, _, _ in _copies()])
    score, flag = onnx_detect(create_session(model), windows)
    assert flag.any() and not flag.all()
    assert np.array_equal(flag, score >= np.float32(manifest.postprocessing.threshold))


def test_a_spike_on_the_newest_week_is_flagged_and_the_clean_week_is_not() -> None:
    manifest, model = committed_model("anomaly")
    series = load_co2()
    width = manifest.preprocessing.window or 0
    clean = series.values[series.test_start - width + 1 : series.test_start + 1].copy()
    spiked = clean.copy()
    spiked[-1] += 4.0
    _, flag = onnx_detect(create_session(model), np.stack([clean, spiked]))
    assert flag.tolist() == [False, True]


def test_committed_anomaly_model_matches_its_source_on_the_committed_data() -> None:
    manifest, model = committed_model("anomaly")
    figures = results("anomaly")
    chosen = figures["detectors"][figures["chosen"]]
    if figures["chosen"] != "forecast_residual":
        pytest.skip("the published detector is not the forecast residual")
    module = residual_module(
        load_source(USE_CASES / "sources" / "forecast.pt"),
        chosen["residual_sigma_ppm"],
        manifest.postprocessing.threshold or 0.0,
    )
    windows = np.concatenate([w for _, w, _, _ in _copies()])
    source_score = torch_run(module, windows)[0]
    onnx_score, _ = onnx_detect(create_session(model), windows)
    assert np.abs(source_score - onnx_score).max() < 1e-3


def test_detection_figures_are_what_the_committed_model_gives_on_the_committed_data() -> None:
    _, model = committed_model("anomaly")
    figures = results("anomaly")
    session = create_session(model)
    by_kind: dict[str, DetectionScore] = {}
    for kind, windows, events, first in _copies():
        got = score_flags(onnx_detect(session, windows)[1], events, first)
        by_kind[kind] = by_kind[kind] + got if kind in by_kind else got
    expected = figures["detectors"][figures["chosen"]]["per_kind"]
    assert {k: s.to_dict() for k, s in by_kind.items()} == expected


def test_the_published_detector_is_the_one_with_the_better_validation_f1() -> None:
    figures = results("anomaly")
    f1 = {name: d["validation_mean_f1"] for name, d in figures["detectors"].items()}
    assert len(f1) >= 2 and figures["chosen"] == max(f1, key=lambda name: f1[name])


def test_committed_data_is_the_held_out_years_with_the_labelled_events() -> None:
    series = load_co2()
    saved = json.loads(DATA.read_text())
    kinds = {row["kind"] for row in saved["copies"]}
    first = saved["copies"][0]
    assert kinds == {k.value for k in Kind}
    assert first["first"] == series.test_start
    assert len(first["values"]) == len(series.values) - series.test_start + saved["window"] - 1


@pytest.mark.slow
def test_the_pipeline_reproduces_the_committed_detector(tmp_path: Path) -> None:
    done = run_script("build_anomaly.py", "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rebuilt = json.loads((tmp_path / "anomaly.json").read_text())
    figures = results("anomaly")
    assert rebuilt["chosen"] == figures["chosen"]
    for name, detector in figures["detectors"].items():
        assert rebuilt["detectors"][name]["per_kind"] == detector["per_kind"]
    windows = np.concatenate([w for _, w, _, _ in _copies()])
    _, committed = committed_model("anomaly")
    ours = create_session(tmp_path / "models" / "anomaly" / "1" / "model.onnx")
    assert np.array_equal(
        onnx_detect(ours, windows)[1], onnx_detect(create_session(committed), windows)[1]
    )


def test_clean_held_out_weeks_raise_no_alarm() -> None:
    manifest, model = committed_model("anomaly")
    series = load_co2()
    windows = last_point_windows(
        series.values, series.test_start, len(series.values), manifest.preprocessing.window or 0
    )
    _, flag = onnx_detect(create_session(model), windows)
    assert flag.mean() < 0.02
