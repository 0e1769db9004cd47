"""Run an ONNX model on real inputs, or benchmark it against its source framework.

    python TP_ONNX/onnx_inference.py --model models/digits_torch/1/model.onnx \\
        --image tests/testdata/digit_3.png
    python TP_ONNX/onnx_inference.py --model out/model.onnx --npy inputs.npy
    python TP_ONNX/onnx_inference.py --model out/model.onnx --benchmark --quick

Inputs: ``.npy`` (batch first), JSON (a nested list, ``{"<input name>": [...]}``, or an
Open Inference Protocol v2 request) or images (PNG/JPEG of a handwritten digit, reduced
to the 8x8 form by utils.preprocessing). Labels, layout and how to read the scores come
from the model's manifest (``<stem>.manifest.json`` beside a converted file, or the
repository's ``manifest.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no PYTHONPATH
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
from numpy.typing import NDArray

from TP_ONNX.framework_benchmark import run_benchmark
from TP_ONNX.model_files import find_manifest, preprocessing_for
from utils.conversion.optimize import ort_session
from utils.deployment_helpers.manifest import Manifest, Preprocessing
from utils.deployment_helpers.tasks import task_kind_of
from utils.deployment_helpers.tasks.classification import labels_of
from utils.errors import BadInput, ConversionError, ToolkitError
from utils.io import write_atomic
from utils.preprocessing import image_to_digit, to_model_input


# ---------------------------------------------------------------- inputs
def load_npy(path: Path) -> NDArray[np.float32]:
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise BadInput(f"{path} does not exist") from None
    except ValueError as exc:
        raise BadInput(f"{path.name} is not a numeric .npy file ({exc})") from None
    return np.asarray(array, dtype=np.float32)


def load_json(path: Path, input_name: str) -> NDArray[np.float32]:
    """A nested list, ``{"<input>": list}``, or a v2 request ``{"inputs": [{...}]}``."""
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError:
        raise BadInput(f"{path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path.name} is not valid JSON ({exc})") from None
    try:
        if isinstance(payload, dict) and isinstance(payload.get("inputs"), list):
            tensor = next(t for t in payload["inputs"] if t.get("name", input_name) == input_name)
            return np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
        if isinstance(payload, dict):
            return np.asarray(payload[input_name], dtype=np.float32)
        return np.asarray(payload, dtype=np.float32)
    except (StopIteration, KeyError, TypeError, ValueError) as exc:
        raise BadInput(
            f'{path.name}: expected a nested list, {{"{input_name}": [...]}} or a v2 request '
            f"with an input named {input_name!r} ({type(exc).__name__})"
        ) from None


def load_images(paths: list[Path], preprocessing: Preprocessing) -> NDArray[np.float32]:
    digits = []
    for path in paths:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BadInput(f"{path} does not exist") from None
        try:
            digits.append(image_to_digit(data))
        except BadInput as exc:
            raise BadInput(f"{path.name}: {exc}") from None
    return to_model_input(np.stack(digits), preprocessing)


# ---------------------------------------------------------------- prediction
def _guessed_manifest(model: Path, outputs: dict[str, NDArray[Any]]) -> Manifest:
    """A model converted elsewhere, with no manifest: read its first 2-D float output as
    class scores (probabilities when every row sums to 1, else logits)."""
    name = next(n for n, v in outputs.items() if v.ndim == 2 and v.dtype.kind == "f")
    scores = outputs[name]
    rows_sum_to_one = np.allclose(scores.sum(axis=1), 1, atol=1e-3) and scores.min() >= 0
    return Manifest(
        name=model.stem,
        inputs=[],
        outputs=[],
        scores_output=name,
        scores_kind="probabilities" if rows_sum_to_one else "logits",
    )


def predict(model: Path, x: NDArray[np.float32], names: list[str]) -> list[dict[str, Any]]:
    """Run the model; one record per sample, decoded by the model's task kind (the data
    plane's own post-processing: labels and probabilities, values, flags...)."""
    manifest = find_manifest(model)
    session = ort_session(model, threads=1)
    spec = session.get_inputs()[0]
    expected = [d if isinstance(d, int) else -1 for d in spec.shape]
    if x.ndim != len(expected) or any(
        e not in (-1, g) for e, g in zip(expected, x.shape, strict=False)
    ):
        raise BadInput(
            f"input of shape {list(x.shape)} does not fit the model's {spec.name} {expected}"
        )
    outputs = dict(
        zip([o.name for o in session.get_outputs()], session.run(None, {spec.name: x}), strict=True)
    )
    manifest = manifest or _guessed_manifest(model, outputs)
    answers = task_kind_of(manifest).answer(manifest, outputs)
    records = []
    for name, answer in zip(names, answers, strict=True):
        record: dict[str, Any] = {"input": name, **answer}
        if "probabilities" in answer:
            labels = labels_of(manifest, len(answer["probabilities"]))
            row = np.asarray(answer["probabilities"])
            order = np.argsort(row)[::-1]
            record["probability"] = round(float(row[order[0]]), 4)
            record["top3"] = [[labels[int(i)], round(float(row[i]), 4)] for i in order[:3]]
            record["probabilities"] = [round(float(p), 4) for p in row]
        records.append(record)
    return records


def describe(record: dict[str, Any]) -> str:
    """One line per sample: the label and top-3 for a classifier, else the answer."""
    if "top3" in record:
        top = ", ".join(f"{label} {p:.3f}" for label, p in record["top3"])
        return f"{record['label']}  (p={record['probability']:.3f}; top-3: {top})"
    return ", ".join(f"{k}={v}" for k, v in record.items() if k != "input")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="onnx_inference.py",
        description="Run an ONNX model on .npy, JSON or image inputs, or benchmark it "
        "(onnxruntime versus its source framework, batch 1/8/32/128, 1 and 2 threads).",
        epilog="exit codes: 0 ok, 2 bad input. The source model of --benchmark is found "
        "through the manifest (or --source); loading a pickle runs code: pass only "
        "files you trust.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, type=Path, help="the .onnx file")
    inputs = parser.add_mutually_exclusive_group()
    inputs.add_argument("--npy", type=Path, help="inputs as a .npy array, batch first")
    inputs.add_argument(
        "--json",
        type=Path,
        dest="json_file",
        help="inputs as JSON: nested list, {input: list} or a v2 request",
    )
    inputs.add_argument("--image", type=Path, nargs="+", help="PNG/JPEG images of digits")
    parser.add_argument("--output-json", type=Path, help="also write the predictions here")
    bench = parser.add_argument_group("benchmark")
    bench.add_argument(
        "--benchmark",
        action="store_true",
        help="measure latency p50/p95/p99 and throughput, ORT vs source framework",
    )
    bench.add_argument("--quick", action="store_true", help="30 timed runs per cell instead of 200")
    bench.add_argument("--source", type=Path, help="the source model (default: from the manifest)")
    bench.add_argument("--no-source", action="store_true", help="benchmark onnxruntime only")
    bench.add_argument(
        "--report",
        type=Path,
        help="where to write the JSON report (a PNG "
        "plot goes beside it); default beside the model, or out/benchmarks/",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.benchmark and not (args.npy or args.json_file or args.image):
        parser.error("give inputs (--npy, --json or --image) or --benchmark")
    try:
        if not args.model.is_file():
            raise BadInput(f"{args.model} does not exist: pass an .onnx file")
        if args.output_json is not None and not args.output_json.parent.is_dir():
            raise BadInput(f"the folder {args.output_json.parent} does not exist: create it first")
        if args.report is not None and not args.report.parent.is_dir():
            raise BadInput(f"the folder {args.report.parent} does not exist: create it first")
        try:
            ort_session(args.model, threads=1)
        except ConversionError as exc:
            raise BadInput(f"{exc}: is it an ONNX model, completely written?") from None
        if args.npy or args.json_file or args.image:
            session = ort_session(args.model, threads=1)
            spec = session.get_inputs()[0]
            if args.image:
                x = load_images(
                    args.image, preprocessing_for(find_manifest(args.model), spec.shape)
                )
                names = [p.name for p in args.image]
            else:
                x = load_npy(args.npy) if args.npy else load_json(args.json_file, spec.name)
                if x.ndim == len(spec.shape) - 1:
                    x = x[np.newaxis]
                names = [f"sample {i}" for i in range(len(x))]
            records = predict(args.model, x, names)
            for record in records:
                print(f"{record['input']:>16s}: {describe(record)}")
            if args.output_json is not None:
                write_atomic(args.output_json, (json.dumps(records, indent=2) + "\n").encode())
                print(f"predictions written to {args.output_json}")
        if args.benchmark:
            run_benchmark(args)
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
