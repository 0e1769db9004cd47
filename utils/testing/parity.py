"""Parity: does the ONNX model give what its source framework gives, on the same inputs?

Modelled on optimum's ``validate_model_outputs``: every output is checked for shape and
max |diff| against ``atol``, every failure is collected (not just the first), and one
:class:`~utils.errors.ParityError` reports them all, one clause per output. Classifiers are
also checked by label agreement, which is the only fair test for tree ensembles: they
compare float32 inputs with float64 thresholds, so a sample right at a split may flip
(about 1 in 450 for a RandomForest behind a StandardScaler, STACK.md).

Numpy only: the caller runs the source model and onnxruntime and hands in arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers.manifest import ParityReport
from utils.errors import ParityError, ParityFailure


def _labels(output: NDArray[Any]) -> NDArray[Any]:
    """Class labels from a label vector [N] or from scores [N, C] (argmax)."""
    if output.ndim == 2 and output.shape[1] > 1 and np.issubdtype(output.dtype, np.floating):
        return np.asarray(output.argmax(axis=1))
    return np.asarray(output).reshape(len(output), -1)[:, 0]


def _is_float(array: NDArray[Any]) -> bool:
    return bool(np.issubdtype(array.dtype, np.floating))


def compare_outputs(
    reference: Sequence[NDArray[Any]],
    candidate: Sequence[NDArray[Any]],
    names: Sequence[str],
    *,
    atol: float | None,
    min_label_agreement: float | None = None,
    label_output: str | None = None,
) -> ParityReport:
    """Compare the source's outputs (``reference``) with ONNX's (``candidate``), in order.

    ``label_output`` names the output whose labels are compared (a label vector, or scores
    whose argmax is taken); by default the first output of a classifier-like shape.

    :raise ParityError: a count or shape mismatch, a float output whose max |diff| exceeds
        ``atol``, or label agreement below ``min_label_agreement``. The error carries the
        report as ``.report`` (a :class:`ParityFailure`).
    """
    failures: list[str] = []
    if len(reference) != len(candidate) or len(candidate) != len(names):
        raise ParityError(
            f"parity check failed: the source gives {len(reference)} output(s), the ONNX "
            f"model {len(candidate)} ({', '.join(names)})"
        )
    samples = len(reference[0]) if reference else 0
    max_abs_diff: dict[str, float] = {}
    agreement: float | None = None
    for name, ref, got in zip(names, reference, candidate, strict=True):
        ref, got = np.asarray(ref), np.asarray(got)
        if ref.shape != got.shape and ref.size == got.size and len(ref) == len(got):
            ref = ref.reshape(got.shape)  # e.g. sklearn's [N] prediction vs ONNX [N, 1]
        if ref.shape != got.shape:
            failures.append(f"{name}: shape {list(got.shape)} != source {list(ref.shape)}")
            continue
        if _is_float(ref) and _is_float(got):
            diff = float(
                np.max(np.abs(ref.astype(np.float64) - got.astype(np.float64)), initial=0.0)
            )
            if not np.isfinite(diff):
                diff = float("inf")
            max_abs_diff[name] = diff
            if atol is not None and not diff <= atol:
                failures.append(f"{name}: max |diff| {diff:.3g} > atol {atol:.3g}")
        wanted = label_output == name or (
            label_output is None and (ref.ndim == 1 or (ref.ndim == 2 and ref.shape[1] > 1))
        )
        if agreement is None and wanted:
            same = _labels(ref).astype(str) == _labels(got).astype(str)
            agreement = float(same.mean()) if same.size else 1.0
    if (
        min_label_agreement is not None
        and agreement is not None
        and agreement < min_label_agreement
    ):
        failures.append(f"label agreement {agreement:.2%} < {min_label_agreement:.2%}")
    report = ParityReport(
        samples=samples,
        atol=atol,
        max_abs_diff=max_abs_diff,
        label_agreement=agreement,
        min_label_agreement=min_label_agreement,
        passed=not failures,
    )
    if failures:
        raise ParityFailure(
            f"parity check failed on {samples} samples: "
            + "; ".join(failures)
            + " (the ONNX model does not match its source: check the opset and the exporter)",
            report,
        )
    return report
