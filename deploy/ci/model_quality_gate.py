"""CI gate: fail when a converted or compressed model lost more quality than it may.

Every version in a manifest may record its quality metric: ``metrics.accuracy`` for a
classifier, ``metrics.mae`` for a regressor (lower is better), ``metrics.group_accuracy``
for an embedding model; and ``accuracy_budget`` (the largest accepted accuracy drop). Two
comparisons:

- a variant (int8, fp16, pruned, distilled ...) against its model's latest fp32 version,
  so a quantization recipe that quietly got worse cannot ship;
- an fp32 version against its source framework (``metrics.<metric>_source``, written by
  the converter), so a conversion that changed predictions cannot ship either.

A version with no budget of its own gets ``--default-budget`` (accuracy points) or
``--default-mae-budget`` (relative MAE increase).

The gate does not take the manifest's word for it. Every version's file must match its
recorded sha256, and every classifier and regressor is re-scored with onnxruntime on the
labelled rows recorded for it (``versions.<n>.evaluation``: the data the converter was
given with ``--samples``/``--targets``, kept beside the model with its sha256), or on the
digits held-out split for the demo digits models. The reference fp32 file is re-scored on
the SAME rows as each variant, so the comparison is like for like; a recorded number the
file does not reproduce fails the gate. Embedding models keep their recorded fidelity
numbers (re-running MiniLM's evaluation takes minutes), but their files are still checked
against their sha256. A repository in which nothing could be checked fails: a gate that
cannot fail protects nothing.

    python deploy/ci/model_quality_gate.py                 # the committed models/
    python deploy/ci/model_quality_gate.py path/to/repo --default-budget 0.005

Exit status: 0 when every checked version is within budget, 1 when one is not or when
nothing was checked, 2 when the repository cannot be read.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from utils.deployment_helpers.manifest import MANIFEST_FILE, Manifest, read_manifest
from utils.errors import BadInput, ToolkitError
from utils.evaluation.scoring import (
    Scorer,
    mae_rescore_tolerance,
    rescore_tolerance,
    scorer_for,
)
from utils.paths import DEFAULT_MODEL_REPOSITORY

REFERENCE_VARIANT = "fp32"
QUALITY_METRICS = ("accuracy", "mae", "group_accuracy")
"""The score a model is gated on, first found: classifiers record ``accuracy``, regressors
``mae``, embedding models (MiniLM) ``group_accuracy`` (same-group nearest neighbours on
their evaluation set)."""
LOWER_IS_BETTER = frozenset({"mae"})
"""Metrics whose budget is a relative increase over the reference (0.05: 5 % worse)."""


@dataclass(frozen=True)
class GateResult:
    """One version compared with its reference (the fp32 version, or the source model)."""

    model: str
    version: int
    variant: str
    metric: str
    accuracy: float
    reference: str
    """What it is compared with: ``fp32 v<N>`` or ``source`` (the framework before conversion)."""
    reference_accuracy: float
    budget: float
    budget_is_default: bool

    @property
    def drop(self) -> float:
        """How much worse than the reference: accuracy points, or the relative MAE increase."""
        if self.metric in LOWER_IS_BETTER:
            return (self.accuracy - self.reference_accuracy) / max(
                abs(self.reference_accuracy), 1e-12
            )
        return self.reference_accuracy - self.accuracy

    @property
    def passed(self) -> bool:
        # A hair of float slack: 0.9822 - 0.9722 must pass a 0.01 budget.
        return self.drop <= self.budget + 1e-9


def quality_metric(manifest: Manifest) -> str | None:
    """The first of QUALITY_METRICS that any version of the model records."""
    recorded = {name for info in manifest.versions.values() for name in info.metrics}
    return next((name for name in QUALITY_METRICS if name in recorded), None)


def reference_accuracy(manifest: Manifest, metric: str = "accuracy") -> tuple[int, float] | None:
    """The latest fp32 version that records ``metric``, or None."""
    candidates = [
        (int(number), info.metrics[metric])
        for number, info in manifest.versions.items()
        if info.variant == REFERENCE_VARIANT and metric in info.metrics
    ]
    return max(candidates) if candidates else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_manifest(
    model_dir: Path, manifest: Manifest
) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """Check every version's file against its sha256 and re-score it on its labelled rows.

    Returns the re-scored metric per version number, the reference fp32 file's score on
    each version's rows (for a like-for-like comparison), and the problems found (each one
    fails the gate).
    """
    measured: dict[str, float] = {}
    reference_measured: dict[str, float] = {}
    problems: list[str] = []
    metric = quality_metric(manifest)
    reference = reference_accuracy(manifest, metric) if metric else None
    scorers: dict[str, Scorer | None] = {}
    for number, info in sorted(manifest.versions.items(), key=lambda item: int(item[0])):
        label = f"{manifest.name} v{number} ({info.variant})"
        path = model_dir / number / info.file
        if not path.is_file():
            problems.append(f"{label}: {path} is missing")
            continue
        actual = file_sha256(path)
        if actual != info.sha256:
            problems.append(
                f"{label}: {path} has sha256 {actual[:12]}..., the manifest records "
                f"{info.sha256[:12]}...: the file was changed or swapped after publishing"
            )
            continue
        if metric not in ("accuracy", "mae") or manifest.task not in (
            "classification",
            "regression",
        ):
            continue
        try:
            scorer = scorer_for(path, manifest=manifest, folder=model_dir, version=number)
            scorers[number] = scorer
            if scorer is None:
                continue
            value = scorer.metrics(path)[metric]
        except ToolkitError as exc:
            problems.append(f"{label}: cannot re-score: {exc}")
            continue
        except Exception as exc:  # onnxruntime's own failures: the file does not run
            problems.append(f"{label}: onnxruntime could not score {path}: {exc}")
            continue
        measured[number] = value
        recorded = info.metrics.get(metric)
        slack = (
            rescore_tolerance(
                info.variant,
                len(scorer.y),
                cpu_independent=info.details.get("reduce_range") is True,
            )
            if metric == "accuracy"
            else mae_rescore_tolerance(info.variant, recorded or 0.0)
        )
        if recorded is not None and abs(recorded - value) > slack:
            problems.append(
                f"{label}: scores {metric} {value:.4f} on {scorer.description}, the manifest "
                f"claims {recorded:.4f}: re-evaluate and re-publish it"
            )
        if reference is not None and info.variant != REFERENCE_VARIANT:
            ref_info = manifest.versions[str(reference[0])]
            ref_path = model_dir / str(reference[0]) / ref_info.file
            if ref_path.is_file() and file_sha256(ref_path) == ref_info.sha256:
                reference_measured[number] = scorer.metrics(ref_path)[metric]
    return measured, reference_measured, problems


def check_manifest(
    manifest: Manifest,
    *,
    default_budget: float,
    default_mae_budget: float = 0.05,
    measured: Mapping[str, float] | None = None,
    reference_measured: Mapping[str, float] | None = None,
) -> tuple[list[GateResult], list[str]]:
    """Compare every version that records the model's quality metric with its reference.

    ``measured`` (version number -> re-scored metric) replaces the recorded metric of
    those versions; ``reference_measured`` (version number -> the reference fp32 file
    re-scored on that version's rows) replaces the reference's recorded one. Returns the
    results and notes on what could not be checked (and why).
    """
    metric = quality_metric(manifest)
    if measured and metric:
        manifest = manifest.model_copy(deep=True)
        for number, value in measured.items():
            manifest.versions[number].metrics[metric] = value
    if metric is None:
        return [], [f"{manifest.name}: no version records {' or '.join(QUALITY_METRICS)}, "
                    "not checked"]  # fmt: skip
    reference = reference_accuracy(manifest, metric)
    results: list[GateResult] = []
    notes: list[str] = []
    for number, info in sorted(manifest.versions.items(), key=lambda item: int(item[0])):
        label = f"{manifest.name} v{number} ({info.variant})"
        if metric not in info.metrics:
            notes.append(f"{label}: no metrics.{metric}, not checked")
            continue
        if info.variant == REFERENCE_VARIANT:
            if f"{metric}_source" not in info.metrics:
                continue
            against, reference_value = "source", info.metrics[f"{metric}_source"]
        elif reference is None:
            notes.append(f"{label}: no fp32 version with {metric} to compare with, not checked")
            continue
        else:
            against, reference_value = f"fp32 v{reference[0]}", reference[1]
            if reference_measured and number in reference_measured:
                reference_value = reference_measured[number]
        budget = info.accuracy_budget
        if metric in LOWER_IS_BETTER:
            recorded_budget = info.details.get("budget", {})
            budget = recorded_budget.get(metric) if isinstance(recorded_budget, dict) else None
            default = default_mae_budget
        else:
            default = default_budget
        results.append(
            GateResult(
                model=manifest.name,
                version=int(number),
                variant=info.variant,
                metric=metric,
                accuracy=info.metrics[metric],
                reference=against,
                reference_accuracy=reference_value,
                budget=default if budget is None else float(budget),
                budget_is_default=budget is None,
            )
        )
    return results, notes


def check_repository(
    repository: Path, *, default_budget: float, default_mae_budget: float = 0.05
) -> tuple[list[GateResult], list[str], list[str]]:
    """Verify (:func:`verify_manifest`) then compare (:func:`check_manifest`) every model
    folder of ``repository``. Returns results, notes and integrity problems."""
    if not repository.is_dir():
        raise BadInput(f"{repository} is not a folder: pass a model repository")
    results: list[GateResult] = []
    notes: list[str] = []
    problems: list[str] = []
    for model_dir in sorted(p.parent for p in repository.glob(f"*/{MANIFEST_FILE}")):
        manifest = read_manifest(model_dir)
        measured, reference_measured, model_problems = verify_manifest(model_dir, manifest)
        model_results, model_notes = check_manifest(
            manifest,
            default_budget=default_budget,
            default_mae_budget=default_mae_budget,
            measured=measured,
            reference_measured=reference_measured,
        )
        results += model_results
        notes += model_notes
        problems += model_problems
    return results, notes, problems


def failure_line(r: GateResult) -> str:
    """Why one version failed, for the log."""
    return (
        f"FAIL {r.model} v{r.version} ({r.variant}): {r.metric} {r.accuracy:.4f} is "
        f"{r.drop:.4f} below {r.reference} {r.reference_accuracy:.4f}, "
        f"over its budget {r.budget:.4f}"
    )


def format_table(results: list[GateResult]) -> str:
    """One line per checked version, widths fitted to the content."""
    header = ("model", "version", "variant", "metric", "value", "against", "reference", "drop",
              "budget", "result")  # fmt: skip
    rows = [header] + [
        (
            r.model,
            str(r.version),
            r.variant,
            r.metric,
            f"{r.accuracy:.4f}",
            r.reference,
            f"{r.reference_accuracy:.4f}",
            f"{round(r.drop, 4) + 0.0:+.4f}",
            f"{r.budget:.4f}" + ("*" if r.budget_is_default else ""),
            "ok" if r.passed else "FAIL",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "repository",
        nargs="?",
        type=Path,
        default=DEFAULT_MODEL_REPOSITORY,
        help="model repository in Triton layout (default: the committed models/)",
    )
    parser.add_argument(
        "--default-budget",
        type=float,
        default=0.01,
        help="accuracy budget for a version that records none (default 0.01 = 1 point)",
    )
    parser.add_argument(
        "--default-mae-budget",
        type=float,
        default=0.05,
        help="regressors: largest accepted relative MAE increase (default 0.05 = 5 %%)",
    )
    args = parser.parse_args(argv)
    try:
        results, notes, problems = check_repository(
            args.repository,
            default_budget=args.default_budget,
            default_mae_budget=args.default_mae_budget,
        )
    except BadInput as exc:
        print(f"quality gate: {exc}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"note: {note}")
    if results:
        print(format_table(results))
        if any(r.budget_is_default for r in results):
            print(f"* no accuracy_budget in the manifest: --default-budget {args.default_budget}")
    failed = [r for r in results if not r.passed]
    for r in failed:
        print(failure_line(r), file=sys.stderr)
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    print(f"quality gate: {len(results) - len(failed)} of {len(results)} checks within budget; "
          f"{len(problems)} integrity problem(s) (sha256, re-scored accuracy)")  # fmt: skip
    if not results and not problems:
        print(
            f"quality gate: FAIL: nothing was checked in {args.repository}: no model records "
            "a quality metric with a reference to compare it with (convert with --samples "
            "and --targets so the manifest records accuracy or MAE)",
            file=sys.stderr,
        )
        return 1
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
