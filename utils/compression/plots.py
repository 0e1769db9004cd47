"""PNG plots for the compression reports (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def size_latency_accuracy(
    rows: Sequence[dict[str, Any]], out: Path, *, title: str, metric: str = "accuracy"
) -> Path:
    """One dot per variant: x = size (KB, log), y = latency p50, colour = metric, labelled."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 5.5))
    xs = [r["size_bytes"] / 1024 for r in rows]
    ys = [r["latency_ms_p50"] for r in rows]
    cs = [r.get(metric) or 0.0 for r in rows]
    scatter = ax.scatter(xs, ys, c=cs, cmap="viridis", s=60, edgecolors="black")
    for row, x, y in zip(rows, xs, ys, strict=True):
        ax.annotate(row["label"], (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points")
    ax.set_xscale("log")
    from matplotlib.ticker import ScalarFormatter

    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(ScalarFormatter())
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel("file size (KB, log scale)")
    ax.set_ylabel("latency p50 at batch 1 (ms)")
    ax.set_title(title)
    fig.colorbar(scatter, ax=ax, label=metric)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def latency_distributions(samples_ms: dict[str, Sequence[float]], out: Path, *, title: str) -> Path:
    """Box plot of per-call latencies per variant (whiskers at p1/p99)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, max(3.0, 0.35 * len(samples_ms) + 1.5)))
    labels = list(samples_ms)
    ax.boxplot([samples_ms[k] for k in labels], vert=False, whis=(1, 99), showfliers=False)
    ax.set_yticks(range(1, len(labels) + 1), labels, fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("latency per call at batch 1 (ms, log scale)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
