"""The v2 codec: JSON and binary tensors to numpy and back, refusing malformed input."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from utils.deployment_helpers.codec import (
    DATATYPE_TO_NUMPY,
    NUMPY_TO_DATATYPE,
    InferRequest,
    decode_request,
    encode_response,
)
from utils.errors import BadInput


def _tensor(**overrides: object) -> dict[str, object]:
    tensor: dict[str, object] = {
        "name": "x",
        "shape": [2, 3],
        "datatype": "FP32",
        "data": list(range(6)),
    }
    tensor.update(overrides)
    return tensor


def test_reverse_datatype_table_is_the_exact_inverse() -> None:
    assert {v: k for k, v in NUMPY_TO_DATATYPE.items()} == DATATYPE_TO_NUMPY


def test_flat_json_data_is_reshaped_to_the_declared_shape() -> None:
    request = decode_request({"inputs": [_tensor()]})
    assert request.inputs["x"].shape == (2, 3)
    assert request.inputs["x"].dtype == np.float32


def test_nested_json_data_is_accepted() -> None:
    request = decode_request({"inputs": [_tensor(data=[[0, 1, 2], [3, 4, 5]])]})
    assert request.inputs["x"][1, 2] == 5


def test_element_count_that_does_not_fit_the_shape_is_refused() -> None:
    with pytest.raises(BadInput, match="5 elements in 'data' but shape \\[2, 3\\] needs 6"):
        decode_request({"inputs": [_tensor(data=[0, 1, 2, 3, 4])]})


def test_unknown_datatype_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(BadInput, match="datatype 'FLOAT' is not one of"):
        decode_request({"inputs": [_tensor(datatype="FLOAT")]})


def test_strings_in_numeric_data_are_refused() -> None:
    with pytest.raises(BadInput, match="holds JSON strings"):
        decode_request({"inputs": [_tensor(data=["a", "b", "c", "d", "e", "f"])]})


def test_numeric_strings_in_numeric_data_are_refused_too() -> None:
    with pytest.raises(BadInput, match="holds JSON strings"):
        decode_request({"inputs": [_tensor(data=["0.5", 1, 2, 3, 4, 5])]})


def test_missing_inputs_list_is_refused() -> None:
    with pytest.raises(BadInput, match="'inputs' must be a non-empty list"):
        decode_request({"outputs": []})


def test_binary_tensor_is_read_from_the_bytes_after_the_header() -> None:
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    blob = values.tobytes()
    body = {"inputs": [_tensor(parameters={"binary_data_size": len(blob)}, data=None)]}
    del body["inputs"][0]["data"]  # type: ignore[attr-defined]
    request = decode_request(body, memoryview(blob))
    np.testing.assert_array_equal(request.inputs["x"], values)


def test_binary_size_that_does_not_match_the_shape_is_refused() -> None:
    entry = {
        "name": "x",
        "shape": [2, 3],
        "datatype": "FP32",
        "parameters": {"binary_data_size": 8},
    }
    with pytest.raises(BadInput, match="8 bytes of binary data, expected 6 FP32"):
        decode_request({"inputs": [entry]}, memoryview(b"\0" * 8))


def test_binary_bytes_tensor_reads_length_prefixed_elements() -> None:
    blob = b"".join(struct.pack("<I", len(s)) + s for s in (b"hi", b"there"))
    entry = {
        "name": "t",
        "shape": [2],
        "datatype": "BYTES",
        "parameters": {"binary_data_size": len(blob)},
    }
    request = decode_request({"inputs": [entry]}, memoryview(blob))
    assert list(request.inputs["t"]) == [b"hi", b"there"]


def test_outputs_asked_in_binary_are_encoded_as_raw_little_endian_bytes() -> None:
    logits = np.arange(4, dtype=np.float32).reshape(1, 4)
    request = decode_request(
        {"inputs": [_tensor()], "outputs": [{"name": "y", "parameters": {"binary_data": True}}]}
    )
    header, blobs = encode_response("m", 3, {"y": logits}, request)
    assert header["outputs"][0]["parameters"] == {"binary_data_size": 16}
    assert blobs == [logits.tobytes()]


def test_outputs_default_to_json_data() -> None:
    header, blobs = encode_response("m", 1, {"y": np.ones((1, 2), np.float32)}, InferRequest({}))
    assert header["outputs"][0]["data"] == [1.0, 1.0]
    assert blobs == []


def test_asking_for_an_output_the_model_lacks_is_refused() -> None:
    request = decode_request({"inputs": [_tensor()], "outputs": [{"name": "nope"}]})
    with pytest.raises(BadInput, match="output 'nope' does not exist"):
        encode_response("m", 1, {"y": np.ones(1, np.float32)}, request)


@pytest.mark.parametrize(
    ("data", "expected"),
    [([1.0, 2.0], None), ([[1.0], [2.0]], None), ([1.0, True], "booleans (true/false)"),
     ([[0.0], [False]], "booleans (true/false)"), (True, "booleans (true/false)"), (3, None),
     ([[1.0], ["2"]], "strings"), ("2", "strings")],
)  # fmt: skip
def test_non_number_in_finds_a_boolean_or_a_string_at_any_depth(
    data: object, expected: str | None
) -> None:
    from utils.deployment_helpers.codec import non_number_in

    assert non_number_in(data) == expected


def test_a_5000_deep_nesting_is_scanned_without_a_recursion_error() -> None:
    from utils.deployment_helpers.codec import non_number_in

    data: object = [1.0]
    for _ in range(5000):
        data = [data]
    assert non_number_in(data) is None
