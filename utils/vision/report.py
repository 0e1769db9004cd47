"""Markdown tables of the vision benchmarks, rendered from their results JSON.

The benchmark scripts print these tables and the README of TP_ONNX/use_cases/vision
embeds them; a test renders them again from the committed results files and checks the
README still holds them, so the figures a reader sees cannot drift from the measurements.
"""

from __future__ import annotations

from typing import Any


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def drawings_table(result: dict[str, Any]) -> str:
    """One row per model version: held-out digits, each writer style, all drawings."""
    writers: list[str] = result["writers"]
    header = ["model", "held-out digits", *writers, "all drawings"]
    lines = [_row(header), _row(["---"] * len(header))]
    for row in result["rows"]:
        cells = [f"{row['model']} v{row['version']} ({row['variant']})"]
        cells.append(f"{row['held_out_accuracy']:.4f}")
        cells += [f"{row['drawings'][w]:.3f}" for w in writers]
        cells.append(f"**{row['drawings_accuracy']:.3f}**")
        lines.append(_row(cells))
    return "\n".join(lines)


def detector_table(result: dict[str, Any]) -> str:
    """One row per source of labels: per-digit precision/recall at IoU 0.5, numbers read."""
    header = ["labels from", "precision", "recall", "box precision", "box recall", "numbers read"]
    lines = [_row(header), _row(["---"] * len(header))]
    for row in result["rows"]:
        lines.append(
            _row(
                [
                    row["labels_from"],
                    f"{row['precision']:.3f}",
                    f"{row['recall']:.3f}",
                    f"{row['box_precision']:.3f}",
                    f"{row['box_recall']:.3f}",
                    f"**{row['number_accuracy']:.3f}**",
                ]
            )
        )
    return "\n".join(lines)


def detector_sentence(result: dict[str, Any]) -> str:
    """The detector's own figure in one sentence, as the app READMEs quote it."""
    own = result["rows"][0]
    return (
        f"{result['detector']} v{result['version']} reads {own['number_accuracy']:.3f} of "
        f"{result['numbers']} held-out numbers exactly"
    )
