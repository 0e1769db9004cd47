"""Convert a PyTorch, Keras or scikit-learn model to one verified, optimized ONNX file.

    python TP_ONNX/model_conversion.py --input TP_ONNX/model.pkl --output out/model.onnx
    python TP_ONNX/model_conversion.py --input TP_ONNX/digits_cnn.pt2 --output out/cnn.onnx \\
        --repository models --name my_digits

The framework is told from the file. The ONNX output is checked against the source model
on real inputs (parity: always on), optimized offline with onnxruntime, and described by
``<output stem>.manifest.json`` beside it. The engine is utils.conversion; this file only
parses arguments and prints the report.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no PYTHONPATH
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from utils.conversion import (
    ConversionOptions,
    ConversionReport,
    OptimizationLevel,
    convert,
)
from utils.errors import BadInput, ToolkitError

SECURITY_NOTE = """\
security: a pickle (.pkl, .pickle, .joblib) runs code while it is loaded. Convert only
files you trust. For scikit-learn prefer the safe skops format, which loads no code:
    import skops.io; skops.io.dump(model, "model.skops")
    python TP_ONNX/model_conversion.py --input model.skops --output model.onnx

exit codes: 0 ok, 2 bad input (file, option, path), 5 conversion failed,
            6 parity failed (the ONNX model disagrees with its source)."""


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape like 1,8,8") from None
    if not shape or any(d <= 0 for d in shape):
        raise argparse.ArgumentTypeError(f"{text!r}: every dimension must be a positive integer")
    return shape


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"{text}: a tolerance cannot be negative")
    return value


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="model_conversion.py",
        description="Convert a PyTorch (.pt TorchScript, .pt2 torch.export), Keras (.keras, "
        ".h5, SavedModel folder) or scikit-learn (.pkl, .joblib, .skops) model to ONNX, "
        "with a parity check against the source, offline optimization and a manifest.",
        epilog=SECURITY_NOTE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    io = parser.add_argument_group("files")
    io.add_argument("--input", required=True, type=Path, help="the trained model file or folder")
    io.add_argument(
        "--output",
        required=True,
        type=Path,
        help="the .onnx file to write (its folder must exist); the manifest goes "
        "beside it as <stem>.manifest.json",
    )
    io.add_argument(
        "--repository",
        type=Path,
        help="also publish into this model repository (Triton layout) as the "
        "next version of --name",
    )
    io.add_argument(
        "--name",
        help="model name in the repository and manifest (default: the "
        "output file's stem; required with --repository)",
    )
    export = parser.add_argument_group("export")
    export.add_argument(
        "--opset", type=int, help="ONNX opset (default: torch 18, Keras/scikit-learn 17)"
    )
    export.add_argument(
        "--input-name", default="input", help="name of the ONNX input (default: %(default)s)"
    )
    export.add_argument(
        "--input-shape",
        type=_shape,
        metavar="D1,D2,...",
        help="per-sample input shape without the batch, e.g. 1,8,8; needed for "
        "TorchScript files unless --samples is given",
    )
    export.add_argument(
        "--output-names",
        type=_names,
        metavar="A,B",
        help="names of the ONNX outputs, in order (default: logits for "
        "networks; label,probabilities for scikit-learn classifiers)",
    )
    export.add_argument(
        "--static-batch",
        action="store_true",
        help="fix the batch to 1 (default: dynamic batch dimension 'batch')",
    )
    export.add_argument(
        "--optimization",
        choices=[level.value for level in OptimizationLevel],
        default=OptimizationLevel.EXTENDED.value,
        help="offline onnxruntime optimization saved with the file "
        "(default: %(default)s, portable across CPUs)",
    )
    export.add_argument(
        "--labels",
        type=_names,
        metavar="A,B,...",
        help="class names in output order (default: scikit-learn classes_ or 0..C-1)",
    )
    export.add_argument(
        "--scores-kind",
        choices=["logits", "probabilities", "values"],
        help="what the scores output holds (default: logits for networks)",
    )
    export.add_argument("--description", default="", help="one line for the manifest")
    export.add_argument(
        "--trust-type",
        action="append",
        default=[],
        metavar="TYPE",
        help="a type a .skops file may load beyond skops' defaults (repeatable)",
    )
    parity = parser.add_argument_group("parity check (always on)")
    parity.add_argument(
        "--samples",
        type=Path,
        metavar="FILE.npy",
        help="real inputs, batch first (default: the digits held-out split "
        "for digits-shaped models, random normals otherwise)",
    )
    parity.add_argument(
        "--atol",
        type=_tolerance,
        help="max |diff| per float output (default: 1e-4; tree ensembles are "
        "held to label agreement instead)",
    )
    parity.add_argument(
        "--min-label-agreement",
        type=_share,
        default=0.995,
        help="share of identical labels required (default: %(default)s)",
    )
    return parser


def print_report(report: ConversionReport) -> None:
    """A short human summary; the full record is the manifest."""
    source = report.manifest.versions["1"].source
    framework = f"{source.framework} {source.framework_version}" if source else report.framework
    signature_in = ", ".join(f"{s.name} {s.datatype} {s.shape}" for s in report.inputs)
    signature_out = ", ".join(f"{s.name} {s.datatype} {s.shape}" for s in report.outputs)
    diffs = ", ".join(f"{k} {v:.1e}" for k, v in report.parity.max_abs_diff.items()) or "-"
    atol = f"{report.parity.atol:.0e}" if report.parity.atol is not None else "not enforced"
    agreement = report.parity.label_agreement
    opt = report.optimization
    print(
        f"converted   {framework} via {report.exporter} -> {report.output} "
        f"({report.size_bytes / 1024:.1f} KB, opset {report.opset})"
    )
    print(f"signature   {signature_in} -> {signature_out}")
    labels = f"; label agreement {agreement:.2%}" if agreement is not None else ""
    print(f"parity      {report.samples}: max|diff| {diffs} (atol {atol}){labels}  PASSED")
    print(
        f"optimized   {opt.level}: {opt.nodes_before} -> {opt.nodes_after} nodes, "
        f"p50 batch 1: {opt.latency_ms_before:.3f} -> {opt.latency_ms_after:.3f} ms"
    )
    if report.accuracy is not None:
        print(f"accuracy    {report.accuracy:.4f} on the held-out samples")
    print(f"manifest    {report.manifest_path}")
    if report.published is not None:
        print(
            f"published   {report.published.name} version {report.published.version}: "
            f"{report.published.path}"
        )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.repository is not None and not args.name:
            raise BadInput("--repository needs --name: the model's folder name in the repository")
        options = ConversionOptions(
            opset=args.opset,
            input_name=args.input_name,
            input_shape=args.input_shape,
            output_names=args.output_names,
            dynamic_batch=not args.static_batch,
            samples=args.samples,
            atol=args.atol,
            min_label_agreement=args.min_label_agreement,
            optimization=OptimizationLevel(args.optimization),
            labels=args.labels,
            scores_kind=args.scores_kind,
            name=args.name,
            description=args.description,
            repository=args.repository,
            trusted_types=tuple(args.trust_type),
        )
        report = convert(args.input, args.output, options)
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
    print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
