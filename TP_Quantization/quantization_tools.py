"""Quantize an ONNX model: dynamic int8, static int8, fp16, or let the automatic mode choose.

Examples (from the repository root, or from anywhere):

    python TP_Quantization/quantization_tools.py auto digits_torch            # try, choose, publish
    python TP_Quantization/quantization_tools.py auto digits_torch --budget 0.005 --dry-run
    python TP_Quantization/quantization_tools.py dynamic models/digits_torch/1/model.onnx out.onnx
    python TP_Quantization/quantization_tools.py static models/digits_torch/1/model.onnx o.onnx \\
        --calibration digits --method entropy --format qdq
    python TP_Quantization/quantization_tools.py fp16 models/digits_keras/1/model.onnx out.onnx
    python TP_Quantization/quantization_tools.py evaluate out.onnx

`auto` takes a model NAME of the repository (its latest fp32 version is the source) or a
path to an .onnx file (then --name says where to publish). It prints the table of every
recipe it tried and why it chose one, and publishes that one as the next version with its
numbers in the manifest. If no recipe meets the budget it says which came closest,
publishes nothing and exits with status 7.

The Python API is the same engine: ``from utils.compression import quantize, auto_compress``.
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

from utils.compression.auto import (
    DEFAULT_BUDGETS,
    AutoResult,
    MetricKind,
    Objective,
    auto_compress,
    classifier_recipes,
)
from utils.compression.calibration import (
    Feed,
    batches,
    feeds_from_digits,
    feeds_from_image_folder,
    feeds_from_images,
)
from utils.compression.inspect_model import input_specs, load_onnx
from utils.compression.options import CalibrationMethod, QuantFormat, WeightType
from utils.compression.report import CompressionReport
from utils.deployment_helpers.manifest import Manifest, read_manifest
from utils.errors import BadInput, NoRecipeWithinBudget, ToolkitError
from utils.evaluation.data import data_digest, keep_evaluation, load_labelled
from utils.evaluation.scoring import Scorer, digits_layout_of, manifest_for, scorer_for
from utils.io import sha256_file
from utils.paths import DEFAULT_MODEL_REPOSITORY


def calibration_feeds(
    spec: str,
    model: Path,
    manifest: Manifest | None = None,
    *,
    target_column: str | None = None,
) -> list[Feed]:
    """Calibration inputs for ``model``, read from the user's file before anything is
    assumed about the model: ``FILE.npy`` | ``FILE.npz`` (its ``x``) | ``FILE.csv`` (its
    numeric columns; name the target with --target-column) | ``images:FOLDER`` (prepared
    as the manifest's preprocessing says: the digits' 8x8 reduction, or an ``image``
    model's resize to ``image_size``) |
    ``digits`` (the demo split). ``npy:``/``npz:``/``csv:`` prefixes are accepted too."""
    input_name = next(iter(input_specs(load_onnx(model))))
    kind, _, where = spec.partition(":")
    if spec == "digits":
        return feeds_from_digits(input_name, _digits_layout(model, manifest))
    if kind == "images" and where:
        if manifest is not None and manifest.preprocessing.kind == "image":
            return _image_feeds(Path(where), input_name, manifest)
        return feeds_from_image_folder(Path(where), input_name, _digits_layout(model, manifest))
    path = Path(where if kind in ("npy", "npz", "csv") and where else spec)
    if path.suffix.lower() not in (".npy", ".npz", ".csv"):
        raise BadInput(
            f"--calibration {spec!r}: give a .npy, .npz or .csv file of your model's inputs, "
            "images:<folder>, or digits"
        )
    column = target_column if path.suffix.lower() == ".csv" else None
    return batches(load_labelled(path, target_column=column).x, input_name)


def _image_feeds(folder: Path, input_name: str, manifest: Manifest) -> list[Feed]:
    """An image model's pictures, prepared as its manifest says."""
    pre = manifest.preprocessing
    shape = manifest.inputs[0].shape
    if pre.image_size is None or pre.layout not in ("NCHW", "NHWC") or len(shape) != 4:
        raise BadInput(
            f"{manifest.name}: the manifest gives no image_size and NCHW/NHWC layout: "
            "calibrate with --calibration FILE.npy of prepared inputs instead"
        )
    channels = shape[1] if pre.layout == "NCHW" else shape[3]
    return feeds_from_images(
        folder,
        input_name,
        image_size=(pre.image_size[0], pre.image_size[1]),
        layout=pre.layout,
        channels=channels,
    )


def _digits_layout(model: Path, manifest: Manifest | None) -> str:
    specs = input_specs(load_onnx(model))
    shape = [d if isinstance(d, int) else -1 for d in next(iter(specs.values()))[0]]
    layout = (manifest.preprocessing.layout if manifest else None) or digits_layout_of(shape)
    if layout is None or (manifest is not None and manifest.preprocessing.kind != "digits-8x8"):
        raise BadInput(
            f"{model.name} takes {shape}, not 8x8 digits: calibrate it on your own inputs "
            "with --calibration FILE.npy|.npz|.csv"
        )
    return layout


def latest_fp32(repository: Path, name: str) -> tuple[Manifest, int, Path]:
    """The manifest, number and file of a model's newest fp32 version."""
    manifest = read_manifest(repository / name)
    versions = [int(v) for v, info in manifest.versions.items() if info.variant == "fp32"]
    if not versions:
        raise BadInput(f"{repository / name} has no fp32 version to compress")
    version = max(versions)
    return manifest, version, repository / name / str(version) / manifest.version(version).file


def already_published(manifest: Manifest, source_sha256: str, recipe: str) -> int | None:
    """The version compressed from this exact file with this recipe, if any (re-runs skip)."""
    for number, info in manifest.versions.items():
        if (
            info.details.get("source_sha256") == source_sha256
            and info.details.get("recipe") == recipe
        ):
            return int(number)
    return None


def scorer_from_args(args: argparse.Namespace, model: Path, **known: Any) -> Scorer | None:
    """The rows to score on: --data (with --targets/--target-column), else the manifest's."""
    return scorer_for(
        model,
        data=args.data,
        targets=args.targets,
        target_column=args.target_column,
        **known,
    )


def _print_single(report: CompressionReport, scorer: Scorer | None) -> None:
    line = (
        f"{report.variant}: {report.output} {report.size_bytes_after:,} bytes "
        f"({report.size_ratio:.0%} of {report.size_bytes_before:,})"
    )
    if scorer is None:
        line += "; no labelled data (--data, or a manifest that records it): size only"
    else:
        before, after = scorer(report.source), scorer(report.output)
        line += f"; {scorer.metric} {after:.4f} (fp32 {before:.4f}) on {scorer.description}"
    print(line)


def run_auto(args: argparse.Namespace) -> int:
    """Try every recipe, print the table, publish the choice (unless --dry-run)."""
    source_version: int | None = None
    folder: Path | None = None
    if args.model.endswith(".onnx") or Path(args.model).is_file():
        model = Path(args.model)
        name = args.name
        manifest = read_manifest(args.repository / name) if name else None
        if manifest is None:
            manifest, folder = manifest_for(model)
        else:
            folder = args.repository / name
    else:
        name = args.model
        manifest, source_version, model = latest_fp32(args.repository, name)
        folder = args.repository / name
    scorer: Scorer | None = None
    if manifest is not None and manifest.task == "embedding":
        settings = embedding_settings(args, model, manifest)
    else:
        scorer = scorer_from_args(
            args,
            model,
            manifest=manifest,
            folder=folder,
            version=str(source_version) if source_version else None,
        )
        if scorer is None:
            raise BadInput(
                "auto holds every recipe to an accuracy budget, so it needs labelled rows: "
                "pass --data eval.npz (x and y) | eval.npy --targets y.npy | eval.csv "
                "--target-column NAME, or convert the model with --samples and --targets"
            )
        settings = {
            "evaluate": scorer,
            "latency_feed": scorer.latency_feed(next(iter(input_specs(load_onnx(model))))),
            "metric_kind": MetricKind.ACCURACY if scorer.higher_is_better else MetricKind.MAE,
        }
        calibration = args.calibration
        if calibration is None and manifest and manifest.preprocessing.kind == "digits-8x8":
            calibration = "digits"
        if calibration is not None:
            settings["calibration"] = calibration_feeds(
                calibration, model, manifest, target_column=args.target_column
            )
        else:
            print(
                "note: no --calibration data: static int8 recipes skipped (give a .npy, .npz "
                "or .csv of training inputs to try them)"
            )
            settings["recipes"] = [r for r in classifier_recipes(model) if not r.needs_calibration]
    budget = args.budget
    if budget is None:
        budget = DEFAULT_BUDGETS[settings["metric_kind"]]
    with tempfile.TemporaryDirectory(prefix="auto-") as work:
        try:
            result = auto_compress(
                model,
                budget=budget,
                objective=Objective(args.objective),
                workdir=Path(work),
                latency_repeats=args.repeats,
                **settings,
            )
        except NoRecipeWithinBudget as exc:
            print(exc.result.table())
            print(f"\nerror: {exc}", file=sys.stderr)
            return exc.exit_code
        print(result.table())
        if scorer is not None:
            print(f"\nScored on {scorer.description}.")
        print(f"\nChosen: {result.reason}")
        if args.dry_run or name is None or manifest is None:
            print("Not published (--dry-run, or no --name for a file outside the repository).")
            return 0
        return publish_choice(
            result, args.repository, name, manifest, model, source_version, budget, scorer
        )


def embedding_settings(args: argparse.Namespace, model: Path, manifest: Manifest) -> dict[str, Any]:
    """Recipes, evaluator and feeds for a sentence-embedding model (task ``embedding``)."""
    from utils.compression.minilm_build import CALIBRATION_SENTENCES, EVAL_SENTENCES
    from utils.compression.mixed_precision import calibration_sentences_feeds
    from utils.compression.text_auto import cosine_evaluator, embedding_recipes, sequence_feed
    from utils.compression.text_embedding import load_eval_sentences

    if manifest.preprocessing.tokenizer is None:
        raise BadInput(f"{manifest.name}: the manifest names no tokenizer file")
    tokenizer = args.repository / manifest.name / manifest.preprocessing.tokenizer
    lines = [s for s in CALIBRATION_SENTENCES.read_text().splitlines() if s.strip()]
    calibration = calibration_sentences_feeds(lines, tokenizer)
    sentences = load_eval_sentences(EVAL_SENTENCES).texts[: args.sentences]
    return {
        "evaluate": cosine_evaluator(model, tokenizer, sentences),
        "latency_feed": sequence_feed(tokenizer),
        "metric_kind": MetricKind.MIN_COSINE,
        "recipes": embedding_recipes(calibration),
    }


def publish_choice(
    result: AutoResult,
    repository: Path,
    name: str,
    manifest: Manifest,
    model: Path,
    source_version: int | None,
    budget: float,
    scorer: Scorer | None = None,
) -> int:
    """Publish the chosen candidate unless this exact file + recipe was published before."""
    from utils.compression.publish import publish_variant

    chosen = result.chosen
    assert chosen is not None and chosen.report is not None and chosen.metric is not None
    source_sha = sha256_file(model)
    from utils.compression.publish import retire_stale_variants

    retired = retire_stale_variants(repository, name, source_sha)
    if retired:
        print(
            f"{name}: removed version(s) {retired}, compressed from an fp32 file that was replaced"
        )
        manifest = read_manifest(repository / name)
    existing = already_published(manifest, source_sha, chosen.recipe)
    if existing is not None:
        print(
            f"{name} version {existing} already holds {chosen.recipe} of this fp32 file: "
            "nothing to do"
        )
        return 0
    details: dict[str, Any] = {
        **chosen.report.details,
        "recipe": chosen.recipe,
        "reason": result.reason,
        "source_sha256": source_sha,
        "candidates": [
            {k: v for k, v in c.row(result.baseline_size).items() if v not in (None, "")}
            for c in result.candidates
        ],
    }
    quality = {
        MetricKind.ACCURACY: "accuracy",
        MetricKind.MAE: "mae",
        MetricKind.MIN_COSINE: "cosine_min",
    }[result.metric_kind]
    measured = scorer.metrics(chosen.report.output) if scorer is not None else {}
    evaluation = scorer.evaluation if scorer is not None else None
    if scorer is not None and scorer.origin == "user":
        evaluation = keep_evaluation(  # the user's --data: kept so the gate can re-score
            repository / name,
            f"evaluation-{data_digest(scorer.x, scorer.y)[:12]}.npz",
            scorer.x,
            scorer.y,
            source=scorer.description,
        )
    metrics = {
        **measured,
        quality: chosen.metric,
        f"baseline_{quality}": result.baseline_metric,
        "size_bytes": float(chosen.size_bytes or 0),
        "size_ratio": (chosen.size_bytes or 0) / result.baseline_size,
        "latency_ms_p50": chosen.latency_ms_p50 or 0.0,
        "baseline_latency_ms_p50": result.baseline_latency_ms,
    }
    published = publish_variant(
        chosen.report.output,
        repository,
        name,
        variant=chosen.report.variant,
        metrics=metrics,
        accuracy_budget=budget if result.metric_kind is MetricKind.ACCURACY else None,
        details={**details, "budget": {result.metric_kind.value: budget}},
        source_version=source_version,
        evaluation=evaluation,
    )
    print(f"Published {published.path} as {name} version {published.version}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def data(p: argparse.ArgumentParser) -> None:
        group = p.add_argument_group(
            "labelled data (default: what the model's manifest records, or the digits split)"
        )
        group.add_argument(
            "--data",
            type=Path,
            metavar="FILE",
            help="evaluation rows: .npz holding x and y, .npy with --targets, or .csv with "
            "--target-column; every variant is scored on them (accuracy or MAE)",
        )
        group.add_argument("--targets", type=Path, metavar="FILE.npy", help="targets of a .npy")
        group.add_argument(
            "--target-column",
            metavar="NAME",
            help="the target column of a .csv --data or --calibration file",
        )

    def io(p: argparse.ArgumentParser) -> None:
        p.add_argument("model", type=Path, help="fp32 .onnx file")
        p.add_argument("output", type=Path, help="where to write the compressed .onnx")
        p.add_argument(
            "--exclude", nargs="*", default=[], metavar="NODE", help="node names to keep in float"
        )
        data(p)

    dynamic = sub.add_parser(
        "dynamic", help="int8 weights, activations quantized per call (no calibration)"
    )
    io(dynamic)
    dynamic.add_argument(
        "--per-tensor", action="store_true", help="one scale per weight (default per channel)"
    )
    dynamic.add_argument("--unsigned", action="store_true", help="uint8 weights (default int8)")
    dynamic.add_argument(
        "--op-types", nargs="*", default=None, help="only these ops, e.g. MatMul Gemm"
    )
    dynamic.add_argument(
        "--reduce-range",
        action="store_true",
        help="7-bit weights: the same answers on AVX2-only and VNNI CPUs (costs precision "
        "on transformers)",
    )

    static = sub.add_parser(
        "static", help="int8 weights and activations, ranges from calibration data"
    )
    io(static)
    static.add_argument(
        "--calibration",
        default=None,
        help="training inputs: FILE.npy | FILE.npz | FILE.csv | images:<folder> | digits "
        "(default: digits for the demo digits models; other models must give theirs)",
    )
    static.add_argument(
        "--format", choices=[f.value for f in QuantFormat], default=QuantFormat.QDQ.value
    )
    static.add_argument("--method", choices=[m.value for m in CalibrationMethod], default="minmax")
    static.add_argument("--per-tensor", action="store_true")
    static.add_argument("--unsigned", action="store_true")
    static.add_argument(
        "--full-range",
        action="store_true",
        help="8-bit weights (default 7-bit: without it the answers differ between "
        "AVX2-only and VNNI CPUs)",
    )

    fp16 = sub.add_parser("fp16", help="fp16 weights; inputs/outputs stay float32")
    io(fp16)
    fp16.add_argument("--fp16-io", action="store_true", help="make inputs/outputs fp16 too")

    auto = sub.add_parser(
        "auto", help="try every recipe, choose within the accuracy budget, publish"
    )
    auto.add_argument("model", help="a model name in the repository, or an .onnx file")
    auto.add_argument("--repository", type=Path, default=DEFAULT_MODEL_REPOSITORY)
    auto.add_argument("--name", default=None, help="model name to publish under (for a file)")
    auto.add_argument(
        "--budget",
        type=float,
        default=None,
        help="largest accepted accuracy drop (default 0.01 = 1 point); for an embedding "
        "model, the smallest accepted worst cosine to fp32 (default 0.99)",
    )
    auto.add_argument(
        "--sentences", type=int, default=None, help="embedding models: use the first N sentences"
    )
    auto.add_argument("--objective", choices=[o.value for o in Objective], default="size")
    auto.add_argument(
        "--calibration",
        default=None,
        help="training inputs for the static int8 recipes: FILE.npy | FILE.npz | FILE.csv | "
        "images:<folder> | digits (default: digits for the demo digits models; without it "
        "other models try the recipes that need no calibration)",
    )
    data(auto)
    auto.add_argument("--repeats", type=int, default=300, help="timed runs per variant")
    auto.add_argument("--dry-run", action="store_true", help="choose but do not publish")

    evaluate = sub.add_parser(
        "evaluate", help="size and accuracy (or MAE) of an .onnx file on labelled rows"
    )
    evaluate.add_argument("model", type=Path)
    data(evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.getLogger().setLevel(logging.ERROR)  # ORT's quantizer warns on the root logger
    from utils.compression.fp16 import convert_fp16
    from utils.compression.quantize import quantize_dynamic_int8, quantize_static_int8

    try:
        if args.command == "auto":
            return run_auto(args)
        if args.command == "evaluate":
            if not args.model.is_file():
                raise BadInput(f"{args.model} does not exist")
            scorer = scorer_from_args(args, args.model)
            if scorer is None:
                raise BadInput(
                    f"no labelled rows for {args.model.name}: pass --data eval.npz (x and y) | "
                    "eval.npy --targets y.npy | eval.csv --target-column NAME"
                )
            record = {
                "file": str(args.model),
                "size_bytes": args.model.stat().st_size,
                **scorer.metrics(args.model),
                "data": scorer.description,
            }
            print(json.dumps(record))
            return 0
        weight_type = WeightType.UINT8 if getattr(args, "unsigned", False) else WeightType.INT8
        if args.command == "dynamic":
            report = quantize_dynamic_int8(
                args.model,
                args.output,
                per_channel=not args.per_tensor,
                weight_type=weight_type,
                nodes_to_exclude=args.exclude,
                op_types=args.op_types,
                reduce_range=args.reduce_range,
            )
        elif args.command == "static":
            manifest, _ = manifest_for(args.model)
            calibration = args.calibration or (
                "digits"
                if manifest is None or manifest.preprocessing.kind == "digits-8x8"
                else None
            )
            if calibration is None:
                raise BadInput(
                    f"static int8 needs calibration inputs for {manifest.name if manifest else ''}"
                    ": --calibration train.npy|train.npz|train.csv (training rows, not the "
                    "rows accuracy is measured on)"
                )
            report = quantize_static_int8(
                args.model,
                args.output,
                calibration_feeds(
                    calibration, args.model, manifest, target_column=args.target_column
                ),
                quant_format=QuantFormat(args.format),
                method=CalibrationMethod(args.method),
                per_channel=not args.per_tensor,
                weight_type=weight_type,
                nodes_to_exclude=args.exclude,
                reduce_range=not args.full_range,
            )
        else:
            report = convert_fp16(
                args.model,
                args.output,
                keep_io_types=not args.fp16_io,
                nodes_to_exclude=args.exclude,
            )
        _print_single(report, scorer_from_args(args, args.model))
        return 0
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
