"""How well each digits model reads drawn digits, per writer style (issue 14, part 1).

Draws ``--per-writer`` digits in each evaluation style of utils/vision/strokes.py (a
seeded stream that training never uses), sends each one the page's way (canvas PNG ->
utils.preprocessing.image_to_digit -> the ONNX model), and prints one row per published
model version: accuracy on the 360 held-out digits, on each style's drawings, and on all.

Writes out/vision/drawings.json; with --update-reference, the committed reference
TP_ONNX/use_cases/vision/results/drawings.json instead (the README quotes it).

Run: python TP_ONNX/use_cases/vision/benchmark_drawings.py [--per-writer 100]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # run from anywhere
sys.path.insert(0, str(Path(__file__).resolve().parent))

from results_cli import benchmark_parser, write_result

from utils.deployment_helpers.manifest import read_manifest
from utils.vision.evaluation import score_model, through_the_page
from utils.vision.report import drawings_table
from utils.vision.strokes import EVALUATION_WRITERS, evaluation_set

DIGITS_MODELS = ("digits_torch", "digits_keras", "digits_sklearn")


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__, "drawings")
    parser.add_argument("--models", nargs="*", default=list(DIGITS_MODELS))
    parser.add_argument("--per-writer", type=int, default=100, help="drawings per style")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sets = [
        through_the_page(writer, drawings)
        for writer, drawings in evaluation_set(args.per_writer, seed=args.seed).items()
    ]
    scores = []
    for name in args.models:
        manifest = read_manifest(args.repository / name)
        for version, info in sorted(manifest.versions.items(), key=lambda item: int(item[0])):
            path = args.repository / name / version / info.file
            scores.append(score_model(name, int(version), info.variant, path, sets))
    result = {
        "per_writer": args.per_writer,
        "seed": args.seed,
        "writers": [w.name for w in EVALUATION_WRITERS],
        "rows": [
            {
                "model": s.model,
                "version": s.version,
                "variant": s.variant,
                "held_out_accuracy": round(s.held_out_accuracy, 6),
                "drawings": {w: round(a, 6) for w, a in s.drawings.items()},
                "drawings_accuracy": round(s.drawings_accuracy, 6),
            }
            for s in scores
        ],
    }
    output = write_result(result, args, "drawings")
    print(drawings_table(result))
    elapsed = time.perf_counter() - started
    print(f"{len(sets) * args.per_writer} drawings, {elapsed:.0f} s; wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
