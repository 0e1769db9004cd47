"""Forecast weekly CO2: train a small PyTorch model, export it to ONNX, beat the baselines.

From statsmodels' CO2 series (weekly, 1958-2001, gaps filled): train on 1958-1997, pick
the epoch on 1998-1999, and report on 2000-2001 (rolling origin, each week forecast once)
against seasonal naive, seasonal naive with drift and Holt-Winters. The ONNX graph takes
`window` FP32 [N, W] of raw ppm and answers `forecast` FP32 [N, H]; it normalises each
window inside, so the level does not matter.

By default everything goes to out/use_cases/ (results JSON, ONNX file, torch weights, and
a repository with the published model). --update-reference rewrites the committed files:
models/forecast, TP_ONNX/use_cases/results/forecast.json and the torch weights beside it.

Run: python TP_ONNX/use_cases/build_forecast.py [--repository DIR] [--update-reference]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from anywhere, no PYTHONPATH

from utils.errors import ToolkitError
from utils.paths import DEFAULT_MODEL_REPOSITORY, PROJECT_ROOT
from utils.use_cases.forecast_build import SOURCE_FILE, ForecastBuild, build_forecast

HERE = Path(__file__).resolve().parent
OUT = PROJECT_ROOT / "out" / "use_cases"


def _print_summary(build: ForecastBuild) -> None:
    report = build.report
    print(f"\nHeld-out 2000-2001: {report.origins} origins x {report.horizon} weeks")
    print(f"{'forecaster':<24}{'MAE (ppm)':>10}{'/ seasonal naive':>18}")
    for name, error in report.mae_ppm.items():
        print(f"{name:<24}{error:>10.3f}{report.ratio_to_seasonal_naive[name]:>18.3f}")
    print(f"parity torch vs ONNX: max |diff| {report.parity['max_abs_diff']['forecast']:.1e} ppm")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the results")
    parser.add_argument("--repository", type=Path, help="publish into this model repository")
    parser.add_argument("--name", default="forecast", help="model name in the repository")
    parser.add_argument(
        "--update-reference",
        action="store_true",
        help="publish into models/ and rewrite the committed results and weights",
    )
    parser.add_argument(
        "--skip-holt-winters", action="store_true", help="leave out the slowest baseline (~1 min)"
    )
    args = parser.parse_args(argv)
    results_dir = HERE / "results" if args.update_reference else args.out
    repository = args.repository or (
        DEFAULT_MODEL_REPOSITORY if args.update_reference else args.out / "models"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="forecast-") as work:
            build = build_forecast(
                Path(work), with_holt_winters=not args.skip_holt_winters, log=print
            )
            published = build.publish(repository, args.name)
            results_dir.mkdir(parents=True, exist_ok=True)
            weights = (HERE / "sources" if args.update_reference else args.out) / SOURCE_FILE
            weights.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(build.source, weights)
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    results = results_dir / "forecast.json"
    results.write_text(json.dumps(build.report.to_dict(), indent=2) + "\n")
    _print_summary(build)
    print(f"\nPublished {published}/1; figures in {results}; torch weights in {weights}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
