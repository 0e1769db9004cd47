"""utils.testing.parity.compare_outputs: the rules, on plain arrays."""

from __future__ import annotations

import numpy as np
import pytest

from utils.errors import ParityError, ParityFailure
from utils.testing.parity import compare_outputs

SCORES = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], dtype=np.float32)


def test_identical_outputs_pass_with_zero_difference() -> None:
    report = compare_outputs([SCORES], [SCORES.copy()], ["scores"], atol=1e-6)
    assert report.passed and report.max_abs_diff == {"scores": 0.0}


def test_a_difference_above_atol_fails_naming_the_output() -> None:
    with pytest.raises(ParityError, match=r"scores: max \|diff\| 0.01"):
        compare_outputs([SCORES], [SCORES + 0.01], ["scores"], atol=1e-4)


def test_a_shape_mismatch_fails_naming_both_shapes() -> None:
    with pytest.raises(ParityError, match=r"scores: shape \[3, 1\] != source \[3, 2\]"):
        compare_outputs([SCORES], [SCORES[:, :1].copy()], ["scores"], atol=1e-4)


def test_a_nan_in_the_onnx_output_fails() -> None:
    broken = SCORES.copy()
    broken[0, 0] = np.nan
    with pytest.raises(ParityError, match="scores"):
        compare_outputs([SCORES], [broken], ["scores"], atol=1e-4)


def test_label_agreement_below_the_minimum_fails_even_without_atol() -> None:
    labels = np.array([0, 1, 1, 0])
    flipped = np.array([0, 1, 0, 0])
    with pytest.raises(ParityFailure) as caught:
        compare_outputs([labels], [flipped], ["label"], atol=None, min_label_agreement=0.995)
    assert caught.value.report.label_agreement == pytest.approx(0.75)


def test_one_flipped_label_in_a_thousand_passes_a_995_permille_rule() -> None:
    labels = np.zeros(1000, dtype=np.int64)
    flipped = labels.copy()
    flipped[0] = 1
    report = compare_outputs([labels], [flipped], ["label"], atol=None, min_label_agreement=0.995)
    assert report.label_agreement == pytest.approx(0.999)
