"""The forecasting pipeline behind `make forecast`: train, export, check, measure, publish."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from utils.deployment_helpers.manifest import Manifest, SourceInfo, VersionInfo
from utils.use_cases.forecasting import (
    ForecasterConfig,
    ForecastReport,
    actuals,
    baseline_forecasts,
    compare,
    export_forecaster,
    forecast_manifest,
    parity_report,
    predict_torch,
    rolling_origins,
    save_source,
    train_forecaster,
    windows_at,
)
from utils.use_cases.publish import publish_fresh
from utils.use_cases.series import load_co2

PARITY_ATOL_PPM: Final[float] = 1e-3
"""float32 holds 370 ppm to about 3e-5; 1e-3 ppm is far below any forecast error."""
ONNX_FILE: Final[str] = "forecast.onnx"
SOURCE_FILE: Final[str] = "forecast.pt"


@dataclass
class ForecastBuild:
    """The files of one build and its report."""

    onnx: Path
    source: Path
    config: ForecasterConfig
    report: ForecastReport

    def manifest(self, name: str) -> Manifest:
        """The model-level manifest for publishing."""
        return forecast_manifest(name, self.config)

    def version_info(self) -> VersionInfo:
        """Version 1's record: the held-out figures and the parity result."""
        import torch

        from utils.deployment_helpers.manifest import ParityReport

        return VersionInfo(
            sha256="0" * 64,  # recomputed from the copied file
            size_bytes=0,
            variant="fp32",
            opset=17,
            source=SourceInfo(
                framework="torch", framework_version=torch.__version__, file=SOURCE_FILE
            ),
            parity=ParityReport(**self.report.parity),
            metrics={
                "mae_ppm": self.report.mae_ppm["model"],
                **{
                    f"ratio_to_seasonal_naive_{k}": v
                    for k, v in self.report.ratio_to_seasonal_naive.items()
                    if k != "seasonal_naive"
                },
            },
            details={"evaluation": "rolling origin, last 104 weeks held out, origins every H"},
        )

    def publish(self, repository: Path, name: str = "forecast") -> Path:
        """Write ``repository/name`` afresh with this build as version 1."""
        return publish_fresh(repository, self.manifest(name), [(self.onnx, self.version_info())])


def build_forecast(
    work: Path,
    *,
    config: ForecasterConfig | None = None,
    with_holt_winters: bool = True,
    log: Callable[[str], object] = lambda _: None,
) -> ForecastBuild:
    """Train, export and measure in ``work``; Holt-Winters can be skipped (~1 min) for tests."""
    from utils.runtime import create_session

    config = config or ForecasterConfig()
    series = load_co2()
    log(f"1/4 train the forecaster (W={config.window}, H={config.horizon}) on 1958-1997")
    trained = train_forecaster(series, config)
    onnx_file = export_forecaster(trained, work / ONNX_FILE)
    source = save_source(trained, work / SOURCE_FILE)

    log("2/4 parity: torch vs onnxruntime on every validation and held-out window")
    first = series.validation_start
    check = windows_at(series, list(range(first, len(series.values) + 1)), config.window)
    session = create_session(onnx_file)
    onnx_out = session.run(None, {"window": check})[0]
    parity = parity_report(predict_torch(trained.module, check), onnx_out, atol=PARITY_ATOL_PPM)

    origins = rolling_origins(series, config.horizon)
    names = None if with_holt_winters else ("seasonal_naive", "seasonal_naive_drift")
    log(f"3/4 baselines on {len(origins)} rolling origins (Holt-Winters refits at each)")
    baselines = baseline_forecasts(series, origins, config.horizon, names=names)
    log("4/4 the model on the same origins")
    model_forecast = session.run(None, {"window": windows_at(series, origins, config.window)})[0]
    errors, ratios, by_step = compare(
        model_forecast, baselines, actuals(series, origins, config.horizon)
    )
    report = ForecastReport(
        origins=len(origins),
        horizon=config.horizon,
        window=config.window,
        mae_ppm=errors,
        ratio_to_seasonal_naive=ratios,
        mae_by_step_ppm=by_step,
        training={
            "train_windows": float(trained.train_windows),
            "validation_mae_ppm": trained.validation_mae,
            "best_epoch": float(trained.best_epoch),
            "missing_weeks_filled": float(series.missing),
        },
        parity=parity.model_dump(),
    )
    return ForecastBuild(onnx_file, source, config, report)
