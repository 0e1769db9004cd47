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

from utils.conversion.optimize import ort_session
from utils.deployment_helpers.manifest import (
    Manifest,
    Preprocessing,
    read_manifest_file,
)
from utils.errors import BadInput, ConversionError, ToolkitError
from utils.io import write_atomic
from utils.paths import DEMO_SOURCES, PROJECT_ROOT
from utils.preprocessing import image_to_digit, to_model_input

LAYOUT_BY_SHAPE = {(64,): "flat", (1, 8, 8): "NCHW", (8, 8, 1): "NHWC"}
BATCH_SIZES = (1, 8, 32, 128)
THREADS = (1, 2)


# ---------------------------------------------------------------- model and manifest
def find_manifest(model: Path) -> Manifest | None:
    """``<stem>.manifest.json`` beside the file, else the repository's ``../manifest.json``."""
    for candidate in (
        model.with_name(f"{model.stem}.manifest.json"),
        model.parent.parent / "manifest.json",
    ):
        if candidate.is_file():
            return read_manifest_file(candidate)
    return None


def preprocessing_for(manifest: Manifest | None, input_shape: list[Any]) -> Preprocessing:
    if manifest is not None:
        return manifest.preprocessing
    layout = LAYOUT_BY_SHAPE.get(tuple(input_shape[1:]))
    return Preprocessing(kind="digits-8x8", layout=layout) if layout else Preprocessing()  # type: ignore[arg-type]


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
def softmax(scores: NDArray[np.float32]) -> NDArray[np.float32]:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def predict(model: Path, x: NDArray[np.float32], names: list[str]) -> list[dict[str, Any]]:
    """Run the model; return one record per sample (label, probability, top-3)."""
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
    scores_name = manifest.scores_output if manifest else None
    if scores_name is None:
        scores_name = next(n for n, v in outputs.items() if v.ndim == 2 and v.dtype.kind == "f")
    scores = outputs[scores_name].astype(np.float32)
    kind = (
        manifest.scores_kind
        if manifest
        else (
            "probabilities"
            if np.allclose(scores.sum(axis=1), 1, atol=1e-3) and scores.min() >= 0
            else "logits"
        )
    )
    probabilities = softmax(scores) if kind == "logits" else scores
    labels = (
        manifest.labels
        if manifest and manifest.labels
        else [str(i) for i in range(probabilities.shape[1])]
    )
    records = []
    for name, row in zip(names, probabilities, strict=True):
        order = np.argsort(row)[::-1]
        records.append(
            {
                "input": name,
                "label": labels[int(order[0])],
                "probability": round(float(row[order[0]]), 4),
                "top3": [[labels[int(i)], round(float(row[i]), 4)] for i in order[:3]],
                "probabilities": [round(float(p), 4) for p in row],
            }
        )
    return records


# ---------------------------------------------------------------- benchmark
def find_source(model: Path, explicit: Path | None) -> Path | None:
    """The framework file this ONNX file came from: ``--source``, else the manifest's.

    A repository version is looked up by its folder number; a compressed variant (source
    framework ``onnx``) is compared with the framework model of the first version.
    """
    if explicit is not None:
        if not explicit.exists():
            raise BadInput(f"--source {explicit} does not exist")
        return explicit
    manifest = find_manifest(model)
    if manifest is None or not manifest.versions:
        return None
    number = model.parent.name if model.parent.name in manifest.versions else "1"
    info = manifest.versions.get(number) or next(iter(manifest.versions.values()))
    if info.source is not None and info.source.framework == "onnx":
        originals = [
            v for v in manifest.versions.values() if v.source and v.source.framework != "onnx"
        ]
        info = originals[0] if originals else info
    candidates = []
    if "source_path" in info.details:
        candidates.append(Path(info.details["source_path"]))
    if info.source and info.source.file:
        candidates += [model.parent / info.source.file, DEMO_SOURCES / info.source.file]
    return next((c for c in candidates if c.exists()), None)


def benchmark_inputs(model: Path) -> NDArray[np.float32]:
    """Real digits for digits-shaped models, seeded random normals otherwise."""
    session = ort_session(model, threads=1)
    shape = [d if isinstance(d, int) else -1 for d in session.get_inputs()[0].shape][1:]
    layout = LAYOUT_BY_SHAPE.get(tuple(shape))
    if layout is not None:
        from utils.digits import load_split, to_layout

        return to_layout(load_split().x_test, layout)
    if any(d <= 0 for d in shape):
        raise BadInput(
            f"the model's input shape {shape} is not fixed: cannot make benchmark inputs"
        )
    return np.random.default_rng(0).standard_normal((128, *shape)).astype(np.float32)


def model_label(model: Path) -> str:
    """``digits_torch v1`` for a repository version, else the file name."""
    if model.parent.name.isdigit():
        return f"{model.parent.parent.name} v{model.parent.name}"
    return model.name


def default_report_path(model: Path) -> Path:
    """Beside a standalone file; under out/benchmarks/ for a repository version."""
    if model.parent.name.isdigit():
        return (
            PROJECT_ROOT
            / "out"
            / "benchmarks"
            / f"{model.parent.parent.name}-v{model.parent.name}.json"
        )
    return model.with_name(f"{model.stem}.benchmark.json")


def plot(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    """Throughput at the median call (batch / p50): steadier than the mean on a shared CPU."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.2))
    for runtime in sorted({r["runtime"] for r in rows}):
        for threads in sorted({r["threads"] for r in rows}):
            cells = [r for r in rows if r["runtime"] == runtime and r["threads"] == threads]
            if cells:
                axis.plot(
                    [c["batch_size"] for c in cells],
                    [c["batch_size"] * 1000.0 / c["p50_ms"] for c in cells],
                    marker="o",
                    linestyle="-" if runtime == "onnxruntime" else "--",
                    label=f"{runtime}, {threads} thread{'s' if threads > 1 else ''}",
                )
    axis.set(
        xscale="log",
        yscale="log",
        xlabel="batch size",
        ylabel="samples / s (batch / p50 latency)",
        title=title,
    )
    axis.set_xticks(BATCH_SIZES, [str(b) for b in BATCH_SIZES])
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    os.replace(tmp, path)


def run_benchmark(args: argparse.Namespace) -> Path:
    from utils.conversion.runtime_benchmark import benchmark_onnx, benchmark_source, speedups

    model: Path = args.model
    report_path: Path = args.report or default_report_path(model)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    warmup, repeats = (5, 30) if args.quick else (20, 200)
    x = benchmark_inputs(model)
    load_before = os.getloadavg()[0]  # a busy machine inflates the tails: record it
    source = None if args.no_source else find_source(model, args.source)
    print(
        f"benchmark   {model} ({'quick: ' if args.quick else ''}{repeats} timed runs per cell, "
        f"{warmup} warm-up)"
    )
    if source is not None:
        print(f"source      {source} (each thread count in a fresh process)")
    else:
        print("source      not found (pass --source): onnxruntime only")
    from tqdm import tqdm

    jobs = [("onnxruntime", t) for t in THREADS] + [("source", t) for t in THREADS if source]
    rows = []
    for runtime, threads in tqdm(jobs, desc="benchmark", unit="runtime x threads", leave=False):
        cells = dict(batch_sizes=BATCH_SIZES, threads=(threads,), warmup=warmup, repeats=repeats)
        if runtime == "onnxruntime":
            rows += benchmark_onnx(model, x, **cells)  # type: ignore[arg-type]
        else:
            rows += benchmark_source(source, x, **cells)  # type: ignore[arg-type]
    ratio = speedups(rows)
    print()
    print(
        f"{'runtime':12s} {'threads':>7s} {'batch':>5s} {'p50 ms':>9s} {'p95 ms':>9s} "
        f"{'p99 ms':>9s} {'items/s':>10s} {'ORT speed-up':>12s}"
    )
    for row in sorted(rows, key=lambda r: (r.threads, r.batch_size, r.runtime != "onnxruntime")):
        speed = (
            "" if row.runtime == "onnxruntime" else f"x{ratio[(row.threads, row.batch_size)]:.2f}"
        )
        print(
            f"{row.runtime:12s} {row.threads:7d} {row.batch_size:5d} {row.p50_ms:9.4f} "
            f"{row.p95_ms:9.4f} {row.p99_ms:9.4f} {row.throughput_per_s:10.0f} {speed:>12s}"
        )
    import platform

    document = {
        "model": str(model),
        "source": str(source) if source else None,
        "quick": bool(args.quick),
        "warmup": warmup,
        "repeats": repeats,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "load_average_1min_before": round(load_before, 2),
        },
        "rows": [r.to_dict() for r in rows],
        "speedup_p50": [
            {"threads": t, "batch_size": b, "source_over_ort": v}
            for (t, b), v in sorted(ratio.items())
        ],
    }
    write_atomic(report_path, (json.dumps(document, indent=2) + "\n").encode())
    plot(
        document["rows"],
        report_path.with_suffix(".png"),
        f"{model_label(model)}: onnxruntime vs source",
    )
    print()
    print(f"report      {report_path} (+ {report_path.with_suffix('.png').name})")
    return report_path


# ---------------------------------------------------------------- command line
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
                top = ", ".join(f"{label} {p:.3f}" for label, p in record["top3"])
                label, probability = record["label"], record["probability"]
                print(f"{record['input']:>16s}: {label}  (p={probability:.3f}; top-3: {top})")
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
