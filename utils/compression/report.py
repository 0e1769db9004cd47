"""What a compression call hands back: the file it wrote and the numbers that describe it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class CompressionReport:
    """One compressed file: where it came from, where it is, its size and its options.

    ``metrics`` starts empty and is filled by evaluation (``accuracy``, ``latency_ms_p50``,
    ``cosine_min`` ...), so the same object travels from the recipe to the manifest.
    """

    source: Path
    output: Path
    variant: str
    size_bytes_before: int
    size_bytes_after: int
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def size_ratio(self) -> float:
        """Compressed size over original size (0.25 = four times smaller)."""
        return self.size_bytes_after / self.size_bytes_before if self.size_bytes_before else 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (paths as strings)."""
        return {
            "source": str(self.source),
            "output": str(self.output),
            "variant": self.variant,
            "size_bytes_before": self.size_bytes_before,
            "size_bytes_after": self.size_bytes_after,
            "size_ratio": round(self.size_ratio, 4),
            "seconds": round(self.seconds, 3),
            "details": self.details,
            "metrics": self.metrics,
        }


def format_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A Markdown table of ``rows`` (dicts) restricted to ``columns``; floats get 4 digits."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
        if isinstance(value, bool):
            return "yes" if value else "no"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)
