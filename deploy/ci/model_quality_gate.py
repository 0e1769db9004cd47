"""CI gate: fail when a converted or compressed model lost more accuracy than it may.

Every version in a manifest may record ``metrics.accuracy`` (on the fixed held-out split;
embedding models record ``metrics.group_accuracy`` instead) and ``accuracy_budget`` (the
largest accepted drop). Two comparisons:

- a variant (int8, fp16, pruned, distilled ...) against its model's latest fp32 version,
  so a quantization recipe that quietly got worse cannot ship;
- an fp32 version against its source framework (``metrics.accuracy_source``, written by
  the converter), so a conversion that changed predictions cannot ship either.

A version with no budget of its own gets ``--default-budget``.

The gate does not take the manifest's word for it. Before comparing, every version's file
must match its recorded sha256 (a swapped or corrupted file fails), and every classifier
version is re-scored with onnxruntime on the held-out digits split (the manifest's
``preprocessing.layout``; a few milliseconds per model): the comparison uses the measured
accuracy, and a recorded accuracy that the file does not reproduce fails the gate.
Embedding models keep their recorded fidelity numbers (re-running MiniLM's evaluation
takes minutes), but their files are still checked against their sha256.

    python deploy/ci/model_quality_gate.py                 # the committed models/
    python deploy/ci/model_quality_gate.py path/to/repo --default-budget 0.005

Exit status: 0 when every checked version is within budget, 1 otherwise, 2 when the
repository cannot be read.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from utils.compression.evaluate import rescore_tolerance
from utils.deployment_helpers.manifest import MANIFEST_FILE, Manifest, read_manifest
from utils.errors import BadInput
from utils.paths import DEFAULT_MODEL_REPOSITORY

if TYPE_CHECKING:
    from utils.digits import DigitsSplit

REFERENCE_VARIANT = "fp32"
QUALITY_METRICS = ("accuracy", "group_accuracy")
"""The score a model is gated on, first found: classifiers record ``accuracy``, embedding
models (MiniLM) ``group_accuracy`` (same-group nearest neighbours on their evaluation set)."""


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


def score_classifier(model_file: Path, manifest: Manifest, split: DigitsSplit) -> float:
    """Accuracy of one ONNX classifier on the held-out digits split, with onnxruntime."""
    import numpy as np
    import onnxruntime as ort

    from utils.digits import to_layout

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
    layout = manifest.preprocessing.layout or "flat"
    feed = {session.get_inputs()[0].name: to_layout(split.x_test, layout).astype(np.float32)}
    output = manifest.scores_output or session.get_outputs()[0].name
    (scores,) = session.run([output], feed)
    return float(np.mean(np.argmax(scores, axis=1) == split.y_test))


def verify_manifest(
    model_dir: Path, manifest: Manifest, split: DigitsSplit | None
) -> tuple[dict[str, float], list[str]]:
    """Check every version's file against its sha256 and re-score digits classifiers.

    Returns the measured accuracy per version number and the problems found (each one
    fails the gate). ``split`` is None when no digits classifier needs it.
    """
    measured: dict[str, float] = {}
    problems: list[str] = []
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
        if split is None or not is_digits_classifier(manifest):
            continue
        try:
            accuracy = score_classifier(path, manifest, split)
        except Exception as exc:
            problems.append(f"{label}: onnxruntime could not score {path}: {exc}")
            continue
        measured[number] = accuracy
        recorded = info.metrics.get("accuracy")
        slack = rescore_tolerance(info.variant, len(split.y_test))
        if recorded is not None and abs(recorded - accuracy) > slack:
            problems.append(
                f"{label}: scores {accuracy:.4f} on the held-out split, the manifest claims "
                f"{recorded:.4f}: re-evaluate and re-publish it"
            )
    return measured, problems


def is_digits_classifier(manifest: Manifest) -> bool:
    return manifest.task == "classification" and manifest.preprocessing.kind == "digits-8x8"


def check_manifest(
    manifest: Manifest,
    *,
    default_budget: float,
    measured: Mapping[str, float] | None = None,
) -> tuple[list[GateResult], list[str]]:
    """Compare every version that records the model's quality metric with its reference.

    ``measured`` (version number -> re-scored accuracy) replaces the recorded
    ``metrics.accuracy`` of those versions. Returns the results and notes on what could
    not be checked (and why).
    """
    if measured:
        manifest = manifest.model_copy(deep=True)
        for number, accuracy in measured.items():
            manifest.versions[number].metrics["accuracy"] = accuracy
    metric = quality_metric(manifest)
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
        budget = info.accuracy_budget
        results.append(
            GateResult(
                model=manifest.name,
                version=int(number),
                variant=info.variant,
                metric=metric,
                accuracy=info.metrics[metric],
                reference=against,
                reference_accuracy=reference_value,
                budget=default_budget if budget is None else budget,
                budget_is_default=budget is None,
            )
        )
    return results, notes


def check_repository(
    repository: Path, *, default_budget: float
) -> tuple[list[GateResult], list[str], list[str]]:
    """Verify (:func:`verify_manifest`) then compare (:func:`check_manifest`) every model
    folder of ``repository``. Returns results, notes and integrity problems."""
    if not repository.is_dir():
        raise BadInput(f"{repository} is not a folder: pass a model repository")
    manifests = {
        model_dir: read_manifest(model_dir)
        for model_dir in sorted(p.parent for p in repository.glob(f"*/{MANIFEST_FILE}"))
    }
    split = None
    if any(is_digits_classifier(m) for m in manifests.values()):
        from utils.digits import load_split

        split = load_split()
    results: list[GateResult] = []
    notes: list[str] = []
    problems: list[str] = []
    for model_dir, manifest in manifests.items():
        measured, model_problems = verify_manifest(model_dir, manifest, split)
        model_results, model_notes = check_manifest(
            manifest, default_budget=default_budget, measured=measured
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
        help="budget for a version that records none (default 0.01 = 1 point)",
    )
    args = parser.parse_args(argv)
    try:
        results, notes, problems = check_repository(
            args.repository, default_budget=args.default_budget
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
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
