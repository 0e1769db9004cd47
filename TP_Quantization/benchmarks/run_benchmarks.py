"""Benchmark every variant of every demo model and of MiniLM (`make bench-quant`).

For each model family the variants are measured alike, on this machine, 1 intra-op
thread, after a warm-up, with the variants INTERLEAVED call by call so machine noise
hits all of them alike:

- on-disk size, parameters (initializer elements) and non-zero parameters;
- latency per call at batch 1 (p50/p95/p99) and throughput at batch 32 (items/s);
- accuracy on the 360 held-out digits, or for MiniLM the worst/mean cosine to fp32 and
  nearest-neighbour agreement on the 208 evaluation sentences;
- peak RSS of a fresh process that loads the model and answers 200 requests with
  numpy + onnxruntime only (rss_probe.py), i.e. what a server pays for this model.

Variants of the digits models are produced here from the fp32 version 1 of each model in
the repository (every recipe of the automatic mode), plus the pruned and distilled CNNs
of model_compression.py when out/compression/ holds them. MiniLM is read from
models/minilm (built by `make minilm`).

Writes results.json, REPORT.md and PNG plots into --output (default: this folder, the
committed report); --quick measures less and writes into runs/quick/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from anywhere, no PYTHONPATH
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from tqdm import tqdm

from utils.compression.auto import classifier_recipes
from utils.compression.calibration import feeds_from_digits
from utils.compression.evaluate import (
    digits_accuracy,
    digits_feed,
    infer_layout,
    interleaved_samples,
)
from utils.compression.inspect_model import count_nonzero_parameters, count_parameters, load_onnx
from utils.compression.plots import latency_distributions, size_latency_accuracy
from utils.compression.report import format_table
from utils.deployment_helpers.manifest import read_manifest
from utils.errors import ToolkitError
from utils.paths import DEFAULT_MODEL_REPOSITORY, PROJECT_ROOT
from utils.results import results_path
from utils.runtime import create_session
from utils.testing.benchmark import stats_from_samples

HERE = Path(__file__).resolve().parent
PROBE = HERE / "rss_probe.py"
DIGITS_MODELS = ("digits_torch", "digits_keras", "digits_sklearn")
COMPRESSION_OUT = PROJECT_ROOT / "out" / "compression"


@dataclass
class Family:
    """Variants of one model that answer the same inputs, measured side by side."""

    name: str
    kind: str  # "digits" | "embedding"
    variants: dict[str, Path]
    feed_1: dict[str, Any]
    feed_32: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def digits_family(name: str, repository: Path, work: Path) -> Family:
    """fp32 v1 of ``name``, every auto-mode recipe applied to it, pruned/distilled CNNs."""
    manifest = read_manifest(repository / name)
    fp32 = repository / name / "1" / manifest.version(1).file
    variants = {"fp32": fp32}
    notes: list[str] = []
    input_name, layout = infer_layout(fp32)
    calibration = feeds_from_digits(input_name, layout)
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    refused: dict[str, list[str]] = {}
    for recipe in tqdm(classifier_recipes(fp32), desc=f"{name}: recipes", leave=False):
        out = folder / f"{recipe.name}.onnx"
        try:
            recipe.run(fp32, out, calibration if recipe.needs_calibration else None)
            variants[recipe.name] = out
        except ToolkitError as exc:
            refused.setdefault(
                str(exc).replace(str(fp32), f"models/{name}/1/model.onnx"), []
            ).append(recipe.name)
    notes += [f"not produced: {', '.join(names)}: {reason}" for reason, names in refused.items()]
    published = [
        f"v{v} {i.variant} ({i.details.get('recipe', '')})"
        for v, i in manifest.versions.items()
        if v != "1"
    ]
    if published:
        notes.append(f"published in models/{name}: {', '.join(published)}")
    if name == "digits_torch" and COMPRESSION_OUT.is_dir():
        for file in sorted(COMPRESSION_OUT.glob("*.onnx")):
            if not file.stem.startswith("fp32"):
                variants[file.stem.replace("_", " ").replace("pct", "%")] = file
    return Family(name, "digits", variants, digits_feed(fp32, 1), digits_feed(fp32, 32), notes)


def minilm_family(repository: Path) -> Family | None:
    """MiniLM fp32 (v1) and int8 (v2) from the repository, or None if not built."""
    from utils.text import tokenize

    folder = repository / "minilm"
    if not (folder / "2" / "model.onnx").is_file():
        return None
    tokenizer = folder / "tokenizer.json"
    one = tokenize(
        ["a sentence padded to one hundred and twenty-eight tokens"], tokenizer, pad_to=128
    )
    one["attention_mask"][:] = 1
    many = {k: np.repeat(v, 32, axis=0) for k, v in one.items()}
    manifest = read_manifest(folder)
    variants = {
        f"{manifest.version(int(v)).variant} (v{v})": folder / v / "model.onnx"
        for v in sorted(manifest.versions)
    }
    return Family(
        "minilm",
        "embedding",
        variants,
        one,
        many,
        ["sequence length 128 for latency and throughput"],
    )


def fidelity(family: Family, quick: bool) -> dict[str, dict[str, float]]:
    """Accuracy per variant (digits) or embedding fidelity to the first variant (MiniLM)."""
    if family.kind == "digits":
        return {
            label: {"accuracy": digits_accuracy(path)} for label, path in family.variants.items()
        }
    from utils.compression.minilm_build import EVAL_SENTENCES
    from utils.compression.text_embedding import embed, embedding_fidelity, load_eval_sentences

    sentences = load_eval_sentences(EVAL_SENTENCES)
    texts = sentences.texts[:24] if quick else sentences.texts
    groups = sentences.groups[: len(texts)]
    tokenizer = next(iter(family.variants.values())).parent.parent / "tokenizer.json"
    embeddings = {
        label: embed(create_session(p), texts, tokenizer) for label, p in family.variants.items()
    }
    reference = next(iter(embeddings.values()))
    out = {}
    for label, emb in embeddings.items():
        f = embedding_fidelity(reference, emb, groups)
        out[label] = {
            "cosine_min": f.cosine_min,
            "cosine_mean": f.cosine_mean,
            "nn_agreement": f.nn_agreement,
            "group_accuracy": f.group_accuracy,
        }
    return out


def peak_rss_mb(model: Path, feed: dict[str, Any], calls: int) -> float:
    """Peak RSS of a fresh serving process (numpy + onnxruntime) for ``model``."""
    with tempfile.TemporaryDirectory() as tmp:
        feed_file = Path(tmp) / "feed.npz"
        np.savez(feed_file, **feed)
        done = subprocess.run(
            [sys.executable, str(PROBE), str(model), str(feed_file), str(calls)],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
    return float(json.loads(done.stdout.strip().splitlines()[-1])["peak_rss_mb"])


def measure(family: Family, quick: bool) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """All numbers for one family; returns table rows and raw batch-1 latencies (ms)."""
    heavy = family.kind == "embedding"
    sessions = {label: create_session(path) for label, path in family.variants.items()}
    repeats_1 = (10 if quick else 150) if heavy else (100 if quick else 2000)
    repeats_32 = (2 if quick else 15) if heavy else (20 if quick else 300)
    raw_1 = interleaved_samples(
        {k: (lambda s=s: s.run(None, family.feed_1)) for k, s in sessions.items()},
        warmup=3 if heavy else 50,
        repeats=repeats_1,
        progress=lambda it: tqdm(it, desc=f"{family.name}: batch 1", leave=False),
    )
    raw_32 = interleaved_samples(
        {k: (lambda s=s: s.run(None, family.feed_32)) for k, s in sessions.items()},
        warmup=1 if heavy else 10,
        repeats=repeats_32,
        progress=lambda it: tqdm(it, desc=f"{family.name}: batch 32", leave=False),
    )
    quality = fidelity(family, quick)
    rows = []
    baseline_size = next(iter(family.variants.values())).stat().st_size
    for label, path in tqdm(family.variants.items(), desc=f"{family.name}: memory", leave=False):
        graph = load_onnx(path)
        one = stats_from_samples(raw_1[label])
        many = stats_from_samples(raw_32[label], batch_size=32)
        rows.append(
            {
                "model": family.name,
                "variant": label,
                "file": str(path.relative_to(PROJECT_ROOT))
                if path.is_relative_to(PROJECT_ROOT)
                else path.name,
                "size_bytes": path.stat().st_size,
                "size_ratio": path.stat().st_size / baseline_size,
                "parameters": count_parameters(graph),
                "nonzero_parameters": count_nonzero_parameters(graph),
                "latency_ms_p50": one.p50_ms,
                "latency_ms_p95": one.p95_ms,
                "latency_ms_p99": one.p99_ms,
                "throughput_b32_per_s": many.throughput_per_s,
                "peak_rss_mb": peak_rss_mb(path, family.feed_1, 20 if quick else 200),
                **quality[label],
            }
        )
    return rows, {label: [v / 1e6 for v in values] for label, values in raw_1.items()}


def machine() -> dict[str, Any]:
    """CPU, cores and library versions, for the report header."""
    cpu = platform.processor()
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    libraries = {}
    for lib in ("onnxruntime", "onnx", "numpy", "torch", "tokenizers", "onnxconverter-common"):
        try:
            libraries[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            libraries[lib] = "not installed"
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "intra_op_threads": 1,
        "libraries": libraries,
        "load_average_at_start": os.getloadavg()[0],
    }


DIGITS_COLUMNS = [
    "variant",
    "size_bytes",
    "size_ratio",
    "parameters",
    "nonzero_parameters",
    "accuracy",
    "latency_ms_p50",
    "latency_ms_p95",
    "latency_ms_p99",
    "throughput_b32_per_s",
    "peak_rss_mb",
]
EMBEDDING_COLUMNS = [
    "variant",
    "size_bytes",
    "size_ratio",
    "parameters",
    "cosine_min",
    "cosine_mean",
    "nn_agreement",
    "group_accuracy",
    "latency_ms_p50",
    "latency_ms_p95",
    "latency_ms_p99",
    "throughput_b32_per_s",
    "peak_rss_mb",
]


def write_report(results: dict[str, Any], output: Path) -> None:
    """REPORT.md + results.json + plots in ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    m = results["machine"]
    lines = [
        "# Compression benchmark: every variant of every demo model, and MiniLM",
        "",
        f"Measured {results['date']} on {m['cpu']} ({m['logical_cores']} logical cores, shared), "
        f"{m['system']}, Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["libraries"].items())
        + ". 1 intra-op thread, warm-up, variants interleaved; "
        + f"load average at start {m['load_average_at_start']:.2f}."
        + (" QUICK run (few repetitions)." if results["quick"] else ""),
        "",
        "Latency is per call at batch 1; throughput is items/s at batch 32; peak RSS is a fresh "
        "process (numpy + onnxruntime only) serving the model for 200 calls. Accuracy is on the "
        "360 held-out digits; MiniLM fidelity is against fp32 on 208 evaluation sentences.",
        "",
    ]
    for family in results["families"]:
        columns = EMBEDDING_COLUMNS if family["kind"] == "embedding" else DIGITS_COLUMNS
        lines += [f"## {family['name']}", "", format_table(family["rows"], columns), ""]
        lines += [f"- {note}" for note in family["notes"]]
        lines += [
            "",
            f"![{family['name']}: size vs latency vs quality]({family['name']}_size_latency.png)",
            f"![{family['name']}: latency distributions]({family['name']}_latency.png)",
            "",
        ]
    (output / "REPORT.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repository", type=Path, default=DEFAULT_MODEL_REPOSITORY)
    parser.add_argument("--models", nargs="*", default=[*DIGITS_MODELS, "minilm"])
    parser.add_argument(
        "--quick", action="store_true", help="few repetitions, written to runs/quick/"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="report folder (default: out/TP_Quantization/benchmarks)",
    )
    parser.add_argument(
        "--update-reference",
        action="store_true",
        help="write the committed TP_Quantization/benchmarks/ report the README quotes",
    )
    args = parser.parse_args(argv)
    logging.getLogger().setLevel(logging.ERROR)  # ORT's quantizer warns on the root logger
    output = args.output or (
        HERE / "runs" / "quick"
        if args.quick
        else results_path(HERE, update_reference=args.update_reference)
    )
    from datetime import UTC, datetime

    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "machine": machine(),
        "families": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-quant-") as work:
        families: list[Family] = []
        for name in args.models:
            if name == "minilm":
                found = minilm_family(args.repository)
                if found is None:
                    print(
                        "minilm: models/minilm is missing, skipped (run `make minilm`)",
                        file=sys.stderr,
                    )
                else:
                    families.append(found)
            else:
                families.append(digits_family(name, args.repository, Path(work)))
        for family in tqdm(families, desc="families", unit="model"):
            rows, raw = measure(family, args.quick)
            quality = "cosine_min" if family.kind == "embedding" else "accuracy"
            size_latency_accuracy(
                [{**r, "label": r["variant"]} for r in rows],
                output_dir(output) / f"{family.name}_size_latency.png",
                title=f"{family.name}: size vs latency (colour = {quality})",
                metric=quality,
            )
            latency_distributions(
                raw,
                output / f"{family.name}_latency.png",
                title=f"{family.name}: latency per call, batch 1",
            )
            results["families"].append(
                {"name": family.name, "kind": family.kind, "notes": family.notes, "rows": rows}
            )
    write_report(results, output)
    for family in results["families"]:
        columns = EMBEDDING_COLUMNS if family["kind"] == "embedding" else DIGITS_COLUMNS
        print(f"\n{family['name']}\n" + format_table(family["rows"], columns[:8]))
    print(f"\nReport: {output / 'REPORT.md'} (+ results.json, PNG plots)")
    return 0


def output_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    sys.exit(main())
