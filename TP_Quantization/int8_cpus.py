"""Do the int8 recipes give the same answers on every x86 CPU? Measure it on this one.

onnxruntime runs int8 convolutions and matrix products with u8 x s8 pairs. CPUs with VNNI
accumulate them in 32 bits; AVX2-only CPUs use VPMADDUBSW, which sums two products into
16 bits and saturates (255 x 127 x 2 > 32,767). A variant published on one kind of CPU can
then score differently on the other. Storing 7-bit weights (``reduce_range``) makes
saturation impossible (255 x 63 x 2 = 32,130), so every CPU computes the exact integers.

For each digits CNN and each static recipe this writes: file size, accuracy with this
CPU's int8 kernels, and, for QDQ files, the exact-arithmetic reference (the same file run
with graph optimizations off: every int8 operator computed in float from its quantized
inputs, what a non-saturating CPU reproduces up to rounding) with the largest logit
difference between the two.

    python TP_Quantization/int8_cpus.py                      # out/TP_Quantization/results/
    python TP_Quantization/int8_cpus.py --update-reference   # the committed results/
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no PYTHONPATH

import numpy as np
import onnxruntime as ort

from utils.compression.calibration import feeds_from_digits
from utils.compression.cpu import cpu_flags
from utils.compression.options import QuantFormat
from utils.compression.quantize import quantize_static_int8
from utils.digits import load_split, to_layout
from utils.paths import DEFAULT_MODEL_REPOSITORY
from utils.results import results_path
from utils.runtime import create_session

REFERENCE = Path(__file__).resolve().parent / "results" / "int8_cpus.json"
MODELS = {"digits_torch": "NCHW", "digits_keras": "NHWC"}
RECIPES = {
    "qdq 8-bit weights": (QuantFormat.QDQ, False),
    "qdq 7-bit weights (reduce_range)": (QuantFormat.QDQ, True),
    "qoperator 8-bit weights": (QuantFormat.QOPERATOR, False),
    "qoperator 7-bit weights (reduce_range)": (QuantFormat.QOPERATOR, True),
}


def measure(repository: Path, work: Path) -> list[dict[str, Any]]:
    split = load_split()
    rows = []
    for name, layout in MODELS.items():
        source = repository / name / "1" / "model.onnx"
        x = to_layout(split.x_test, layout)
        calibration = feeds_from_digits("input", layout)
        fp32 = create_session(source).run(None, {"input": x})[0]
        for recipe, (fmt, reduce_range) in RECIPES.items():
            out = work / f"{name}-{len(rows)}.onnx"
            quantize_static_int8(
                source, out, calibration, quant_format=fmt, reduce_range=reduce_range
            )
            kernels = create_session(out).run(None, {"input": x})[0]
            row: dict[str, Any] = {
                "model": name,
                "recipe": recipe,
                "size_bytes": out.stat().st_size,
                "accuracy_fp32": round(float((fp32.argmax(1) == split.y_test).mean()), 4),
                "accuracy_here": round(float((kernels.argmax(1) == split.y_test).mean()), 4),
            }
            if fmt is QuantFormat.QDQ:
                exact = create_session(
                    out, optimization=ort.GraphOptimizationLevel.ORT_DISABLE_ALL
                ).run(None, {"input": x})[0]
                row["accuracy_exact"] = round(float((exact.argmax(1) == split.y_test).mean()), 4)
                row["max_logit_diff_vs_exact"] = round(float(np.abs(kernels - exact).max()), 4)
            rows.append(row)
            print(json.dumps(row))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repository", type=Path, default=DEFAULT_MODEL_REPOSITORY)
    parser.add_argument(
        "--update-reference",
        action="store_true",
        help="write the committed TP_Quantization/results/int8_cpus.json",
    )
    args = parser.parse_args(argv)
    logging.getLogger().setLevel(logging.ERROR)  # ORT's quantizer warns on the root logger
    with tempfile.TemporaryDirectory(prefix="int8-cpus-") as work:
        rows = measure(args.repository, Path(work))
    target = results_path(REFERENCE, update_reference=args.update_reference)
    target.parent.mkdir(parents=True, exist_ok=True)
    document = {"cpu": cpu_flags(), "onnxruntime": ort.__version__, "rows": rows}
    target.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nWritten {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
