"""Pruning and knowledge distillation of the digits CNN, each exported to ONNX and measured.

    python TP_Quantization/model_compression.py                 # everything (~1-2 minutes)
    python TP_Quantization/model_compression.py --quick         # fewer epochs (tests)
    python TP_Quantization/model_compression.py --temperature 2 --alpha 0.5

What it does, from the trained demo CNN (TP_ONNX/digits_cnn.pt2, built by `make models`):

- global unstructured magnitude pruning at several sparsities, each fine-tuned;
- structured channel pruning (half the filters and units), fine-tuned: a narrower network;
- distillation into a ~15x smaller student, and the same student trained without teacher.

Every model goes through the project's converter (utils.conversion: ONNX + parity check),
then the ONNX files are measured alike: size, gzip size, parameters (all / non-zero),
accuracy on the held-out digits, latency p50 at batch 1 (1 thread, interleaved).
Writes out/TP_Quantization/results/model_compression.{json,md,png} (the committed
results/ only with --update-reference); the ONNX files go to out/compression/.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no PYTHONPATH
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tqdm import tqdm

from utils.compression.evaluate import describe_file, digits_feed, interleaved_latency
from utils.compression.plots import size_latency_accuracy
from utils.compression.report import format_table
from utils.errors import ToolkitError
from utils.paths import PROJECT_ROOT
from utils.results import results_path
from utils.runtime import create_session

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
COLUMNS = [
    "variant",
    "parameters",
    "nonzero_parameters",
    "size_bytes",
    "gzip_bytes",
    "accuracy",
    "latency_ms_p50",
    "notes",
]


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Train, export and measure every variant; return the table rows."""
    from utils.compression.distillation import distill
    from utils.compression.pruning import prune_channels, prune_unstructured
    from utils.compression.torch_digits import export_onnx, load_data, load_teacher

    warnings.filterwarnings("ignore")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    teacher, data = load_teacher(), load_data()
    epochs = 3 if args.quick else args.finetune_epochs
    jobs: list[tuple[str, str, Any]] = [("fp32 teacher", "the demo CNN", lambda: teacher)]
    for sparsity in args.sparsities:
        jobs.append(
            (
                f"unstructured {sparsity:.0%}",
                f"global L1, fine-tuned {epochs} epochs",
                lambda s=sparsity: (
                    prune_unstructured(teacher, data, sparsity=s, finetune_epochs=epochs).model
                ),
            )
        )
    jobs.append(
        (
            f"structured keep {args.keep_ratio:.0%}",
            f"L1 channels, fine-tuned {2 * epochs} epochs",
            lambda: (
                prune_channels(
                    teacher, data, keep_ratio=args.keep_ratio, finetune_epochs=2 * epochs
                ).model
            ),
        )
    )
    distilled: dict[str, Any] = {}

    def student(kind: str) -> Any:
        if not distilled:
            result = distill(
                teacher,
                data,
                temperature=args.temperature,
                alpha=args.alpha,
                epochs=10 if args.quick else args.distill_epochs,
            )
            distilled.update(distilled=result.student, baseline=result.baseline)
        return distilled[kind]

    jobs.append(
        (
            "student distilled",
            f"T={args.temperature:g}, alpha={args.alpha:g}",
            lambda: student("distilled"),
        )
    )
    jobs.append(("student alone", "same student, labels only", lambda: student("baseline")))

    rows: list[dict[str, Any]] = []
    files: dict[str, Path] = {}
    for name, notes, build in tqdm(jobs, desc="train + export", unit="model"):
        path = out / (name.replace(" ", "_").replace("%", "pct") + ".onnx")
        export_onnx(build(), path)
        files[name] = path
        rows.append(
            {
                "variant": name,
                "notes": notes,
                "file": str(
                    path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
                ),
                **describe_file(path),
            }
        )
    feed = digits_feed(files["fp32 teacher"], 1)
    sessions = {name: create_session(path) for name, path in files.items()}
    stats = interleaved_latency(
        {name: partial(s.run, None, feed) for name, s in sessions.items()},
        repeats=50 if args.quick else 500,
        progress=lambda it: tqdm(it, desc="latency", leave=False),
    )
    for row in rows:
        row["latency_ms_p50"] = stats[row["variant"]].p50_ms
        row["latency_ms_p95"] = stats[row["variant"]].p95_ms
    return rows


def write_reports(rows: list[dict[str, Any]], results: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    (results / "model_compression.json").write_text(json.dumps(rows, indent=2) + "\n")
    table = format_table(rows, COLUMNS)
    (results / "model_compression.md").write_text(
        "# Pruning and distillation of the digits CNN\n\n"
        "Accuracy on the 360 held-out digits; latency p50 at batch 1, 1 thread, onnxruntime, "
        "variants interleaved. gzip_bytes shows what unstructured zeros save in transfer; "
        "on disk and in compute a dense ONNX file with zeros is as big and as slow.\n\n"
        f"{table}\n\n![size vs latency vs accuracy](model_compression.png)\n"
    )
    size_latency_accuracy(
        [{**r, "label": r["variant"]} for r in rows],
        results / "model_compression.png",
        title="Digits CNN: pruning and distillation (colour = accuracy)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sparsities", type=float, nargs="+", default=[0.5, 0.8, 0.9])
    parser.add_argument(
        "--keep-ratio", type=float, default=0.5, help="share of channels kept (structured)"
    )
    parser.add_argument("--temperature", type=float, default=4.0, help="distillation temperature")
    parser.add_argument(
        "--alpha", type=float, default=0.7, help="weight of the teacher's soft loss"
    )
    parser.add_argument("--finetune-epochs", type=int, default=10)
    parser.add_argument("--distill-epochs", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="few epochs and timing runs (tests)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "out" / "compression")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="folder for the reports (default: out/TP_Quantization/results)",
    )
    parser.add_argument(
        "--update-reference",
        action="store_true",
        help="write the committed TP_Quantization/results/ that the README quotes",
    )
    args = parser.parse_args(argv)
    if args.results is None:
        args.results = results_path(RESULTS, update_reference=args.update_reference)
    logging.getLogger().setLevel(logging.ERROR)  # ORT's quantizer warns on the root logger
    try:
        rows = run(args)
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    write_reports(rows, args.results)
    print(format_table(rows, COLUMNS))
    print(f"\nReports: {args.results}/model_compression.{{json,md,png}}; ONNX files in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
