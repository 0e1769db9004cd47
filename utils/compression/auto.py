"""Automatic mode: try the sensible recipes, measure each, keep the best one within budget.

"Accuracy preservation by design": no recipe is trusted because it usually works. Each
candidate is written, loaded, evaluated on data it was not calibrated on, and timed
against the fp32 original in the same interleaved run; only then does the chooser look
at them. The choice is a rule a person can check in the printed table:

- a candidate qualifies if its metric stays inside the budget (for classifiers: at most
  ``budget`` accuracy below fp32, default 0.01 = one point; for embeddings: a worst
  cosine to fp32 of at least ``budget``, default 0.99) AND its file is smaller than fp32;
- among those, ``Objective.SIZE`` takes the smallest file (a candidate within 2 % of the
  smallest size wins if it is faster), ``Objective.LATENCY`` the fastest p50 at batch 1
  (a candidate within 5 % of the fastest wins if it is smaller).

When nothing qualifies, :class:`NoRecipeWithinBudget` names the closest candidate and
nothing is published.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

from utils.compression.calibration import Feed
from utils.compression.evaluate import interleaved_latency
from utils.compression.inspect_model import ensure_float_model, output_producers
from utils.compression.options import CalibrationMethod, QuantFormat
from utils.compression.report import CompressionReport, format_table
from utils.errors import BadInput, NoRecipeWithinBudget, ToolkitError
from utils.runtime import create_session


class Objective(StrEnum):
    """What "best" means among the candidates inside the budget."""

    SIZE = "size"
    LATENCY = "latency"


class MetricKind(StrEnum):
    """How the budget reads the metric."""

    ACCURACY = "accuracy"
    """Higher is better; the budget is the largest accepted DROP below fp32."""
    MIN_COSINE = "min_cosine"
    """Worst cosine to fp32; the budget is the smallest accepted VALUE."""
    MAE = "mae"
    """Mean absolute error of a regressor, lower is better; the budget is the largest
    accepted RELATIVE increase over fp32 (0.05: at most 5 % worse)."""


DEFAULT_BUDGETS = {MetricKind.ACCURACY: 0.01, MetricKind.MIN_COSINE: 0.99, MetricKind.MAE: 0.05}
"""One accuracy point; a worst cosine of 0.99; 5 % more MAE."""


RecipeFn = Callable[[Path, Path, list[Feed] | None], CompressionReport]


@dataclass(frozen=True)
class Recipe:
    """A named way to compress a model: ``run(model, out, calibration) -> report``."""

    name: str
    run: RecipeFn
    needs_calibration: bool = False


@dataclass
class Candidate:
    """One recipe's outcome: its file and numbers, or the error that stopped it."""

    recipe: str
    report: CompressionReport | None = None
    metric: float | None = None
    latency_ms_p50: float | None = None
    within_budget: bool = False
    error: str | None = None

    @property
    def size_bytes(self) -> int | None:
        return self.report.size_bytes_after if self.report else None

    def row(self, baseline_size: int) -> dict[str, Any]:
        """One line of the printed table."""
        return {
            "recipe": self.recipe,
            "size_bytes": self.size_bytes,
            "size_ratio": (self.size_bytes / baseline_size) if self.size_bytes else None,
            "latency_ms_p50": self.latency_ms_p50,
            "metric": self.metric,
            "within_budget": self.within_budget,
            "note": self.error or "",
        }


@dataclass
class AutoResult:
    """Everything the automatic mode tried, what it chose and why."""

    metric_kind: MetricKind
    budget: float
    baseline_metric: float
    baseline_size: int
    baseline_latency_ms: float
    candidates: list[Candidate]
    chosen: Candidate | None
    reason: str
    workdir: Path | None = field(default=None, repr=False)

    def table(self) -> str:
        """Markdown table: fp32 first, then every candidate in the order tried."""
        rows = [
            {
                "recipe": "fp32 (original)",
                "size_bytes": self.baseline_size,
                "size_ratio": 1.0,
                "latency_ms_p50": self.baseline_latency_ms,
                "metric": self.baseline_metric,
                "within_budget": True,
                "note": "baseline",
            }
        ] + [c.row(self.baseline_size) for c in self.candidates]
        for row in rows:
            row["chosen"] = "<--" if self.chosen and row["recipe"] == self.chosen.recipe else ""
        columns = [
            "recipe",
            "size_bytes",
            "size_ratio",
            "latency_ms_p50",
            "metric",
            "within_budget",
            "chosen",
            "note",
        ]
        return format_table(rows, columns).replace("| metric |", f"| {self.metric_kind.value} |", 1)


def _accepts(kind: MetricKind, budget: float, baseline: float, value: float) -> bool:
    return _distance(kind, budget, baseline, value) <= 1e-9


def _distance(kind: MetricKind, budget: float, baseline: float, value: float) -> float:
    """How far outside the budget (0 inside): used to name the closest failure."""
    if kind is MetricKind.ACCURACY:
        return max(0.0, baseline - value - budget)
    if kind is MetricKind.MAE:
        return max(0.0, value - baseline * (1.0 + budget))
    return max(0.0, budget - value)


def classifier_recipes(model: Path) -> list[Recipe]:
    """The recipes worth trying on a small classifier (CNN or dense).

    Every int8 recipe stores 7-bit weights (``reduce_range``) so its answers are the same
    on AVX2-only and VNNI CPUs (see ``quantize_static_int8``).
    Static QDQ first (smallest and fastest on CNNs, STACK.md); each calibration method;
    QDQ with the last layer kept in float (logits saturate under MinMax); dynamic int8
    on the dense layers only (dynamic Conv is 4x slower) and on everything; fp16.
    """
    from utils.compression.fp16 import convert_fp16
    from utils.compression.quantize import quantize_dynamic_int8, quantize_static_int8

    last = output_producers(ensure_float_model(model))

    def static(
        method: CalibrationMethod, fmt: QuantFormat = QuantFormat.QDQ, exclude: Sequence[str] = ()
    ) -> RecipeFn:
        def run(src: Path, out: Path, calibration: list[Feed] | None) -> CompressionReport:
            assert calibration is not None
            return quantize_static_int8(
                src, out, calibration, quant_format=fmt, method=method, nodes_to_exclude=exclude
            )

        return run

    return [
        Recipe("int8-static-qdq-minmax", static(CalibrationMethod.MINMAX), True),
        Recipe("int8-static-qdq-entropy", static(CalibrationMethod.ENTROPY), True),
        Recipe("int8-static-qdq-percentile", static(CalibrationMethod.PERCENTILE), True),
        Recipe(
            "int8-static-qdq-minmax-float-last",
            static(CalibrationMethod.MINMAX, exclude=last),
            True,
        ),
        Recipe(
            "int8-static-qoperator-minmax",
            static(CalibrationMethod.MINMAX, QuantFormat.QOPERATOR),
            True,
        ),
        Recipe(
            "int8-dynamic-dense-only",
            lambda src, out, _: quantize_dynamic_int8(
                src, out, op_types=["MatMul", "Gemm"], reduce_range=True
            ),
        ),
        Recipe(
            "int8-dynamic-per-channel",
            lambda src, out, _: quantize_dynamic_int8(src, out, reduce_range=True),
        ),
        Recipe("fp16", lambda src, out, _: convert_fp16(src, out)),
    ]


def auto_compress(
    model: Path,
    *,
    evaluate: Callable[[Path], float],
    latency_feed: dict[str, Any],
    metric_kind: MetricKind = MetricKind.ACCURACY,
    budget: float | None = None,
    objective: Objective = Objective.SIZE,
    recipes: Sequence[Recipe] | None = None,
    calibration: Iterable[Feed] | None = None,
    workdir: Path | None = None,
    latency_repeats: int = 200,
    progress: Callable[[Iterable[Any]], Iterable[Any]] = iter,
) -> AutoResult:
    """Run every recipe into ``workdir`` (a temporary folder by default, kept alive by the
    result), measure, and choose. ``evaluate(path)`` returns the metric of one file.

    :raise BadInput: the model is not a float ONNX model, or a calibration recipe has no data.
    :raise NoRecipeWithinBudget: nothing qualified (the message names the closest).
    """
    ensure_float_model(model)
    budget = budget if budget is not None else DEFAULT_BUDGETS[metric_kind]
    recipes = list(recipes) if recipes is not None else classifier_recipes(model)
    feeds = list(calibration) if calibration is not None else None
    if any(r.needs_calibration for r in recipes) and not feeds:
        raise BadInput(
            "static int8 recipes need calibration data, and the calibration set is empty"
        )
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="auto-compress-"))
    baseline_metric = evaluate(model)
    candidates: list[Candidate] = []
    for recipe in progress(recipes):
        candidate = Candidate(recipe.name)
        candidates.append(candidate)
        try:
            candidate.report = recipe.run(model, workdir / f"{recipe.name}.onnx", feeds)
            candidate.metric = evaluate(candidate.report.output)
        except ToolkitError as exc:
            candidate.error = f"failed: {exc}"
            continue
        except Exception as exc:  # a recipe's model that ORT cannot run is a result, not a crash
            candidate.error = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            continue
        candidate.within_budget = _accepts(metric_kind, budget, baseline_metric, candidate.metric)
        if candidate.size_bytes is not None and candidate.size_bytes >= model.stat().st_size:
            candidate.within_budget = False
            candidate.error = "not smaller than fp32"
        elif not candidate.within_budget:
            candidate.error = "outside the budget"
    runnable = {
        "fp32": model,
        **{c.recipe: c.report.output for c in candidates if c.report and c.metric is not None},
    }
    sessions = {name: create_session(path) for name, path in runnable.items()}
    calls: dict[str, Callable[[], object]] = {
        name: partial(s.run, None, latency_feed) for name, s in sessions.items()
    }
    stats = interleaved_latency(
        calls,
        warmup=20,
        repeats=latency_repeats,
    )
    for candidate in candidates:
        if candidate.recipe in stats:
            candidate.latency_ms_p50 = stats[candidate.recipe].p50_ms
    result = AutoResult(
        metric_kind=metric_kind,
        budget=budget,
        baseline_metric=baseline_metric,
        baseline_size=model.stat().st_size,
        baseline_latency_ms=stats["fp32"].p50_ms,
        candidates=candidates,
        chosen=None,
        reason="",
        workdir=workdir,
    )
    _choose(result, objective)
    return result


def _choose(result: AutoResult, objective: Objective) -> None:
    qualified = [c for c in result.candidates if c.within_budget]
    kind, budget, base = result.metric_kind, result.budget, result.baseline_metric
    budget_text = {
        MetricKind.ACCURACY: f"accuracy drop <= {budget:.4f} below fp32 {base:.4f}",
        MetricKind.MAE: f"MAE at most {budget:.0%} above fp32 {base:.4f}",
        MetricKind.MIN_COSINE: f"worst cosine to fp32 >= {budget:.4f}",
    }[kind]
    if not qualified:
        measured = [c for c in result.candidates if c.metric is not None]
        smaller = [c for c in measured if (c.size_bytes or 0) < result.baseline_size]
        if measured and not smaller:
            hint = "no recipe made the file smaller"
        elif smaller:
            measured = smaller
            closest = min(
                measured,
                key=lambda c: (_distance(kind, budget, base, c.metric or 0.0), c.size_bytes or 0),
            )
            hint = f"closest: {closest.recipe} with {kind.value} {closest.metric:.4f}"
        if not measured:
            hint = "every recipe failed to run"
        result.reason = f"no recipe met the budget ({budget_text}); {hint}; nothing published"
        raise NoRecipeWithinBudget(result.reason, result)
    if objective is Objective.SIZE:
        smallest = min(c.size_bytes or 0 for c in qualified)
        near = [c for c in qualified if (c.size_bytes or 0) <= smallest * 1.02]
        chosen = min(near, key=lambda c: (c.latency_ms_p50 or float("inf"), c.size_bytes or 0))
        why = "smallest file"
    else:
        fastest = min(c.latency_ms_p50 or float("inf") for c in qualified)
        near = [c for c in qualified if (c.latency_ms_p50 or float("inf")) <= fastest * 1.05]
        chosen = min(near, key=lambda c: (c.size_bytes or 0, c.latency_ms_p50 or float("inf")))
        why = "fastest at batch 1"
    result.chosen = chosen
    ratio = (chosen.size_bytes or 0) / result.baseline_size
    result.reason = (
        f"{chosen.recipe}: {why} among {len(qualified)} of {len(result.candidates)} recipes within "
        f"the budget ({budget_text}); {chosen.size_bytes} bytes ({ratio:.0%} of fp32), "
        f"{kind.value} {chosen.metric:.4f}, p50 {chosen.latency_ms_p50:.4f} ms vs fp32 "
        f"{result.baseline_latency_ms:.4f} ms"
    )
