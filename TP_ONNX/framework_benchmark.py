"""onnxruntime versus the source framework, the same model, the same inputs.

``python TP_ONNX/onnx_inference.py --model M --benchmark`` lands here: latency p50/p95/p99
and throughput for batch sizes 1, 8, 32, 128 and 1 and 2 intra-op threads, for
onnxruntime and for the framework the file was converted from, each thread count in a
fresh process (TensorFlow cannot change its thread count once started). Writes a JSON
report and a PNG plot, prints the table with the speed-up ratio.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from TP_ONNX.model_files import LAYOUT_BY_SHAPE, find_manifest
from utils.conversion.optimize import ort_session
from utils.errors import BadInput
from utils.io import write_atomic
from utils.paths import DEMO_SOURCES, PROJECT_ROOT

BATCH_SIZES = (1, 8, 32, 128)
THREADS = (1, 2)


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
