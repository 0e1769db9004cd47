"""A served model validates every request against its signature before onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from utils.deployment_helpers import ModelRepository
from utils.errors import BadInput


def test_predict_matches_a_direct_onnxruntime_run(
    repository: ModelRepository, rows: NDArray[np.float32]
) -> None:
    model = repository.get("mlp")
    (direct,) = model.session.run(None, {"input": rows})
    np.testing.assert_array_equal(model.predict({"input": rows})["logits"], direct)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({}, "missing input 'input'"),
        ({"input": np.zeros((1, 64), np.float32), "extra": np.zeros(1)}, "unknown input 'extra'"),
        ({"input": np.zeros((1, 64), np.float64)}, "has datatype FP64; model 'mlp' takes FP32"),
        (
            {"input": np.zeros((1, 8, 8), np.float32)},
            r"has shape \[1, 8, 8\]; model 'mlp' takes \[-1, 64\]",
        ),
        ({"input": np.zeros((9, 64), np.float32)}, "a batch of 9 rows is over the maximum of 8"),
        ({"input": np.zeros((0, 64), np.float32)}, "the batch is empty"),
    ],
    ids=["missing", "extra", "dtype", "shape", "batch-too-big", "empty-batch"],
)
def test_inputs_that_do_not_fit_the_signature_are_refused_with_a_reason(
    repository: ModelRepository, inputs: dict[str, NDArray[np.float32]], message: str
) -> None:
    with pytest.raises(BadInput, match=message):
        repository.get("mlp").predict(inputs)


def test_nan_and_infinity_are_refused_with_their_count(repository: ModelRepository) -> None:
    x = np.zeros((2, 64), np.float32)
    x[0, 3], x[1, 5] = np.nan, np.inf
    with pytest.raises(BadInput, match="contains 2 NaN or infinite"):
        repository.get("mlp").predict({"input": x})


def test_huge_finite_values_whose_sum_overflows_are_accepted(repository: ModelRepository) -> None:
    """The NaN check sums first; a sum that overflows float32 must not refuse good input."""
    x = np.full((2, 64), np.finfo(np.float32).max, np.float32)
    assert repository.get("mlp").validate({"input": x})["input"].shape == (2, 64)


def test_inputs_that_disagree_on_the_batch_size_are_refused(repository: ModelRepository) -> None:
    feed = {"a": np.zeros((2, 4), np.float32), "b": np.zeros((3, 4), np.float32)}
    with pytest.raises(BadInput, match="disagree on the batch size"):
        repository.get("adder").predict(feed)
