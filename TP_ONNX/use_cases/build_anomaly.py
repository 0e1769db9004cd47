"""Flag anomalous weeks in CO2: two detectors measured, the better one published as ONNX.

Detectors: the forecaster's residual on the newest point (needs the forecaster's weights,
TP_ONNX/use_cases/sources/forecast.pt, from build_forecast.py) and an IsolationForest on
level-free features (skl2onnx). Thresholds are chosen on 1998-1999 with injected
anomalies; precision, recall and F1 per kind (spike, dip, level shift, stuck sensor,
noise burst) are measured on 2000-2001, through the exported ONNX graphs. The graph takes
`window` FP32 [N, W] and answers `score` FP32 [N] and `is_anomaly` BOOL [N] about the
newest point of each window.

By default everything goes to out/use_cases/. --update-reference rewrites models/anomaly,
TP_ONNX/use_cases/results/anomaly.json and the injected held-out data in data/.

Run: python TP_ONNX/use_cases/build_anomaly.py [--repository DIR] [--update-reference]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from anywhere, no PYTHONPATH

from utils.errors import BadInput, ToolkitError
from utils.paths import DEFAULT_MODEL_REPOSITORY, PROJECT_ROOT
from utils.use_cases.anomaly_build import AnomalyBuild, build_anomaly, write_held_out_data

HERE = Path(__file__).resolve().parent
OUT = PROJECT_ROOT / "out" / "use_cases"
FORECASTER = HERE / "sources" / "forecast.pt"


def _print_summary(build: AnomalyBuild) -> None:
    for detector, result in build.results.items():
        chosen = "  <- published" if detector is build.chosen else ""
        print(
            f"\n{detector.value}: threshold {result.threshold:.3f}, held-out mean F1 "
            f"{result.mean_f1:.3f}, false alarms on clean weeks {result.false_alarms_clean}"
            f"{chosen}"
        )
        print(f"  {'kind':<14}{'precision':>10}{'recall':>8}{'F1':>7}")
        for kind, score in result.held_out.items():
            print(f"  {kind:<14}{score.precision:>10.2f}{score.recall:>8.2f}{score.f1:>7.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the results")
    parser.add_argument("--repository", type=Path, help="publish into this model repository")
    parser.add_argument("--name", default="anomaly", help="model name in the repository")
    parser.add_argument(
        "--forecaster", type=Path, default=FORECASTER, help="forecaster weights (%(default)s)"
    )
    parser.add_argument(
        "--update-reference",
        action="store_true",
        help="publish into models/ and rewrite the committed results and held-out data",
    )
    args = parser.parse_args(argv)
    results_dir = HERE / "results" if args.update_reference else args.out
    data_dir = HERE / "data" if args.update_reference else args.out
    repository = args.repository or (
        DEFAULT_MODEL_REPOSITORY if args.update_reference else args.out / "models"
    )
    try:
        if not args.forecaster.is_file():
            raise BadInput(f"{args.forecaster} is missing: run build_forecast.py first")
        with tempfile.TemporaryDirectory(prefix="anomaly-") as work:
            build = build_anomaly(Path(work), args.forecaster, log=print)
            published = build.publish(repository, args.name)
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    results_dir.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    results = results_dir / "anomaly.json"
    results.write_text(json.dumps(build.to_dict(), indent=2) + "\n")
    data = write_held_out_data(data_dir / "anomaly_held_out.json", build.width)
    _print_summary(build)
    print(f"\nPublished {published}/1 ({build.chosen.value}); figures in {results}; data in {data}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
