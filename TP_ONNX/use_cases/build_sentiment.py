"""Sentiment: MiniLM embeddings + a logistic-regression head, exported as one ONNX graph.

Needs the MiniLM model `make minilm` publishes (models/minilm: fp32 v1, int8 v2, and
tokenizer.json). Trains the head on the training split of data/sentiment.jsonl (1,008
sentences written for the project: products, films, restaurants, hotels, apps, services),
composes encoder + head with onnx.compose (fp32, and the same head on the int8 encoder),
checks parity against scikit-learn, and reports accuracy and confusion matrices on the
held-out quarter. The graph takes `input_ids` and `attention_mask` (INT64 [N, T]) and
answers `probabilities` FP32 [N, 2] (negative, positive); the tokenizer stays in the
data plane, as for MiniLM.

By default everything goes to out/use_cases/. --update-reference publishes into models/
(not committed: 90 MB; `make sentiment`) and rewrites results/sentiment.json.

Run: python TP_ONNX/use_cases/build_sentiment.py [--minilm DIR] [--update-reference]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from anywhere, no PYTHONPATH

from utils.errors import ToolkitError
from utils.paths import DEFAULT_MODEL_REPOSITORY, PROJECT_ROOT
from utils.use_cases.sentiment import LABELS
from utils.use_cases.sentiment_build import SentimentBuild, build_sentiment

HERE = Path(__file__).resolve().parent
OUT = PROJECT_ROOT / "out" / "use_cases"


def _print_summary(build: SentimentBuild) -> None:
    print(f"\nHeld-out: {build.test_sentences} sentences (head C={build.chosen_c:g})")
    for variant, evaluation in build.evaluations.items():
        print(f"{variant:<5} accuracy {evaluation.accuracy:.4f}  confusion (rows true {LABELS}):")
        for label, row in zip(LABELS, evaluation.confusion, strict=True):
            print(f"        {label:<9}{row[0]:>5}{row[1]:>5}")
    diff = build.parity.max_abs_diff[next(iter(build.parity.max_abs_diff))]
    print(f"parity fp32 graph vs scikit-learn head: max |diff| {diff:.1e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the results")
    parser.add_argument("--repository", type=Path, help="publish into this model repository")
    parser.add_argument("--name", default="sentiment", help="model name in the repository")
    parser.add_argument(
        "--minilm",
        type=Path,
        default=DEFAULT_MODEL_REPOSITORY / "minilm",
        help="the published MiniLM model folder (default: %(default)s)",
    )
    parser.add_argument(
        "--update-reference",
        action="store_true",
        help="publish into models/ and rewrite the committed results",
    )
    args = parser.parse_args(argv)
    results_dir = HERE / "results" if args.update_reference else args.out
    repository = args.repository or (
        DEFAULT_MODEL_REPOSITORY if args.update_reference else args.out / "models"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="sentiment-") as work:
            build = build_sentiment(Path(work), args.minilm, log=print)
            published = build.publish(repository, args.name)
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    results_dir.mkdir(parents=True, exist_ok=True)
    results = results_dir / "sentiment.json"
    results.write_text(json.dumps(build.to_dict(), indent=2) + "\n")
    _print_summary(build)
    print(f"\nPublished {published}/1 (fp32) and /2 (int8); figures in {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
