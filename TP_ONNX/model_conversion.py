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
import json
import logging
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
security: a pickle runs code while it is loaded: .pkl, .pickle, .joblib, and a whole
model saved with torch.save (said again when one is loaded). Convert only files you
trust. For scikit-learn prefer the safe skops format, which loads no code; for PyTorch a
state_dict (--model-class) or .pt2:
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


def _names_or_file(text: str) -> tuple[str, ...]:
    """``a,b,c``, or a text file with one name per line (``.txt``/``.csv``/``.names``).

    A numpy file is refused: ``--labels y.npy`` is a common slip for ``--targets y.npy``,
    and reading it as one class named "y.npy" would go unnoticed.
    """
    path = Path(text)
    if path.suffix.lower() in (".npy", ".npz", ".pkl"):
        raise argparse.ArgumentTypeError(
            f"{text}: takes names (a,b,c or a text file with one per line); targets go to --targets"
        )
    if path.is_file():
        names = tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
        if not names:
            raise argparse.ArgumentTypeError(f"{text} holds no names")
        return names
    if path.suffix.lower() in (".txt", ".csv", ".names"):
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    return _names(text)


def _json(text: str) -> object:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not JSON ({exc.msg})") from None
    if not isinstance(value, (list, dict)):
        raise argparse.ArgumentTypeError("give a JSON list (positional) or object (keywords)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="model_conversion.py",
        description="Convert a PyTorch (.pt/.pth: torch.save or TorchScript; .pt2 "
        "torch.export), Keras (.keras, .h5, SavedModel folder) or scikit-learn (.pkl, "
        ".joblib, .skops) model to ONNX, "
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
        type=_names_or_file,
        metavar="A,B,...|FILE.txt",
        help="class names in output order, a comma list or a text file with one name per "
        "line; their count must be the model's number of classes (default: scikit-learn "
        "classes_ or 0..C-1)",
    )
    export.add_argument(
        "--feature-names",
        type=_names_or_file,
        metavar="A,B,...|FILE.txt",
        help="one name per input column (default: the CSV header or the model's "
        "feature_names_in_); they name the fields of the prediction form",
    )
    export.add_argument(
        "--input-kind",
        choices=["tabular", "digits-8x8", "image", "tensor"],
        help="what a person sends (default: digits-8x8 for a digits-shaped input without "
        "feature names, tabular for other [N, F] inputs, tensor otherwise)",
    )
    export.add_argument(
        "--standardize",
        metavar="auto|FILE",
        help="PyTorch/Keras trained on standardised features: fold (x - mean) / std into "
        "the graph, with mean/std from --samples (auto) or a .json/.npz holding mean and std",
    )
    export.add_argument(
        "--model-class",
        metavar="MODULE:CLASS",
        help="PyTorch state_dict files: the class that builds the model (imported from the "
        "current folder or the model's folder)",
    )
    export.add_argument(
        "--model-args",
        type=_json,
        metavar="JSON",
        help="arguments of --model-class: a JSON list or object, e.g. '{\"hidden\": 32}'",
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
    parity = parser.add_argument_group("evaluation data and parity check (always on)")
    parity.add_argument(
        "--samples",
        type=Path,
        metavar="FILE",
        help="real inputs: .npy (batch first), .npz holding x (and y), or .csv with a "
        "header (default: the digits held-out split for digits-shaped models, random "
        "normals otherwise)",
    )
    parity.add_argument(
        "--targets",
        type=Path,
        metavar="FILE.npy",
        help="ground truth of --samples (class indices or class values; target values for "
        "a regressor): the manifest gets accuracy (or MAE and RMSE), and the rows are kept "
        "beside the model for the quality gate",
    )
    parity.add_argument(
        "--target-column",
        metavar="NAME",
        help="the column of a .csv --samples file that holds the targets",
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
    if report.metrics:
        shown = ", ".join(
            f"{k} {v:.4f}" for k, v in report.metrics.items() if not k.endswith("_source")
        )
        print(f"metrics     {shown} on {report.samples}")
    for warning in report.warnings:  # said on stderr when found; repeated under the summary
        print(f"WARNING     {warning}")
    print(f"manifest    {report.manifest_path}")
    if report.published is not None:
        print(
            f"published   {report.published.name} version {report.published.version}: "
            f"{report.published.path}"
        )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="WARNING: %(message)s", level=logging.WARNING, stream=sys.stderr)
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
            targets=args.targets,
            target_column=args.target_column,
            feature_names=args.feature_names,
            input_kind=args.input_kind,
            standardize=args.standardize,
            model_class=args.model_class,
            model_args=args.model_args,
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
