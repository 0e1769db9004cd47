"""The committed forecast model: its contract, its parity with the torch weights, the
held-out figures recomputed from the committed file, and the pipeline reproducing it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.use_cases.conftest import USE_CASES, committed_model, results, run_script
from utils.runtime import create_session
from utils.use_cases.forecasting import (
    actuals,
    baseline_forecasts,
    compare,
    load_source,
    predict_torch,
    rolling_origins,
    windows_at,
)
from utils.use_cases.series import load_co2


def test_forecast_takes_a_window_of_w_weeks_and_answers_h_weeks_as_its_manifest_says() -> None:
    manifest, model = committed_model("forecast")
    session = create_session(model)
    window, horizon = manifest.preprocessing.window, manifest.preprocessing.horizon
    assert (manifest.task, manifest.preprocessing.kind) == ("forecasting", "series")
    assert [(i.name, i.type, i.shape[1]) for i in session.get_inputs()] == [
        ("window", "tensor(float)", window)
    ]
    assert [(o.name, o.type, o.shape[1]) for o in session.get_outputs()] == [
        ("forecast", "tensor(float)", horizon)
    ]


def test_committed_forecast_matches_its_torch_weights_on_every_held_out_window() -> None:
    _, model = committed_model("forecast")
    module = load_source(USE_CASES / "sources" / "forecast.pt")
    series = load_co2()
    windows = windows_at(series, list(range(series.test_start, len(series.values))), 104)
    onnx_out = create_session(model).run(None, {"window": windows})[0]
    assert np.abs(onnx_out - predict_torch(module, windows)).max() < 1e-3


def test_forecast_does_not_depend_on_the_level_of_the_series() -> None:
    _, model = committed_model("forecast")
    series = load_co2()
    windows = windows_at(series, [series.test_start, series.test_start + 30], 104)
    session = create_session(model)
    base = session.run(None, {"window": windows})[0]
    shifted = session.run(None, {"window": windows + 100.0})[0]
    assert np.allclose(shifted - base, 100.0, atol=1e-2)


def test_held_out_figures_are_what_the_committed_model_and_baselines_give() -> None:
    manifest, model = committed_model("forecast")
    figures = results("forecast")
    series = load_co2()
    horizon = manifest.preprocessing.horizon or 0
    origins = rolling_origins(series, horizon)
    model_forecast = create_session(model).run(
        None, {"window": windows_at(series, origins, manifest.preprocessing.window or 0)}
    )[0]
    baselines = baseline_forecasts(
        series, origins, horizon, names=("seasonal_naive", "seasonal_naive_drift")
    )
    errors, _, _ = compare(model_forecast, baselines, actuals(series, origins, horizon))
    for name, error in errors.items():
        assert error == pytest.approx(figures["mae_ppm"][name], abs=1e-4), name


def test_the_model_beats_holt_winters_and_drift_on_the_held_out_years() -> None:
    ratios = results("forecast")["ratio_to_seasonal_naive"]
    assert ratios["model"] < ratios["holt_winters"] < ratios["seasonal_naive_drift"] < 1.0


@pytest.mark.slow
def test_holt_winters_baseline_gives_the_committed_figure() -> None:
    series = load_co2()
    origins = rolling_origins(series, 4)
    forecast = baseline_forecasts(series, origins, 4, names=("holt_winters",))["holt_winters"]
    error = float(np.abs(forecast - actuals(series, origins, 4)).mean())
    assert error == pytest.approx(results("forecast")["mae_ppm"]["holt_winters"], abs=1e-3)


@pytest.mark.slow
def test_the_pipeline_reproduces_the_committed_forecasts(tmp_path: Path) -> None:
    done = run_script(
        "build_forecast.py", "--out", str(tmp_path), "--skip-holt-winters", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    _, committed = committed_model("forecast")
    series = load_co2()
    windows = windows_at(series, list(range(series.test_start, len(series.values))), 104)
    rebuilt = create_session(tmp_path / "models" / "forecast" / "1" / "model.onnx")
    ours = create_session(committed).run(None, {"window": windows})[0]
    assert np.abs(rebuilt.run(None, {"window": windows})[0] - ours).max() < 1e-3


def test_build_forecast_help_explains_the_reference_flag(tmp_path: Path) -> None:
    done = run_script("build_forecast.py", "--help", cwd=tmp_path, timeout_s=60)
    assert done.returncode == 0 and "--update-reference" in done.stdout
