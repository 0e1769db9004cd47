"""How well models/digits_detector reads whole numbers (issue 14, part 2).

Draws ``--numbers`` held-out numbers (3 to 5 digits, uneven gaps and heights, on the
840x280 wide pad, by the evaluation writers in turn: a stream training never uses),
sends each the serving way (PNG -> utils.vision.detection.image_to_detector_input ->
ONNX -> decode_detections) and prints per-digit precision and recall at IoU 0.5 (with the
label right, and for the box alone) and the share of numbers read exactly, twice: with
the detector's own class head, and with each box read by each digits classifier.

Writes out/vision/detector.json; with --update-reference, the committed reference
TP_ONNX/use_cases/vision/results/detector.json instead (the README quotes it).

Run: python TP_ONNX/use_cases/vision/benchmark_detector.py [--numbers 300]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # run from anywhere
sys.path.insert(0, str(Path(__file__).resolve().parent))

from results_cli import benchmark_parser, write_result

from utils.deployment_helpers.manifest import read_manifest
from utils.vision.compose import held_out_numbers
from utils.vision.evaluation import score_detector
from utils.vision.report import detector_table

CLASSIFIERS = ("digits_torch", "digits_keras", "digits_sklearn")


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__, "detector")
    parser.add_argument("--detector", default="digits_detector")
    parser.add_argument("--numbers", type=int, default=300, help="held-out numbers")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    manifest = read_manifest(args.repository / args.detector)
    version = str(manifest.latest_version())
    model_path = args.repository / args.detector / version / manifest.versions[version].file
    numbers = list(held_out_numbers(args.numbers, seed=args.seed))
    classifiers = {
        name: args.repository / name / "1" / read_manifest(args.repository / name).version(1).file
        for name in CLASSIFIERS
    }
    score = score_detector(model_path, manifest, numbers, classifiers=classifiers)
    rows = []
    for source in score.labels:
        rows.append(
            {
                "labels_from": (
                    f"{args.detector} (its class head)"
                    if source == "detector"
                    else f"{source} v1 on each box"
                ),
                "precision": round(score.precision(source), 6),
                "recall": round(score.recall(source), 6),
                "box_precision": round(score.location_precision, 6),
                "box_recall": round(score.location_recall, 6),
                "number_accuracy": round(score.number_accuracy(source), 6),
            }
        )
    result = {
        "detector": args.detector,
        "version": int(version),
        "numbers": args.numbers,
        "digits": score.digits,
        "seed": args.seed,
        "iou": 0.5,
        "rows": rows,
    }
    output = write_result(result, args, "detector")
    print(detector_table(result))
    elapsed = time.perf_counter() - started
    print(f"{args.numbers} numbers ({score.digits} digits), {elapsed:.0f} s; wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
