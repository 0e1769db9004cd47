"""The Open Inference Protocol v2 codec: request JSON (and binary tensors) <-> numpy.

One table maps v2 datatype names to numpy dtypes; the reverse is derived from it, so the
two can never disagree. The decoder is on the hot path of every request: it works on the
``dict`` that ``orjson.loads`` returns (no pydantic), and every check raises
:class:`~utils.errors.BadInput` naming the tensor and what to send instead.

Binary tensor extension (what ``tritonclient.http`` sends by default): the body is the
JSON header of ``Inference-Header-Content-Length`` bytes followed by the raw tensors in
input order; an input carries ``parameters.binary_data_size`` instead of ``data``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from utils.errors import BadInput

DATATYPE_TO_NUMPY: Final[dict[str, np.dtype[Any]]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(np.object_),
}
"""v2 datatype name -> numpy dtype (little-endian, as the binary extension requires)."""

NUMPY_TO_DATATYPE: Final[dict[np.dtype[Any], str]] = {v: k for k, v in DATATYPE_TO_NUMPY.items()}
"""numpy dtype -> v2 datatype name, derived from :data:`DATATYPE_TO_NUMPY`."""

_MAX_ELEMENTS: Final[int] = 1 << 27
"""A shape announcing more elements than this is refused before any allocation."""


def datatype_of(array: NDArray[Any]) -> str:
    """The v2 datatype name of a numpy array (strings and bytes map to BYTES)."""
    if array.dtype.kind in "OSU":
        return "BYTES"
    try:
        return NUMPY_TO_DATATYPE[array.dtype]
    except KeyError:
        raise BadInput(f"numpy dtype {array.dtype} has no v2 datatype") from None


@dataclass
class InferRequest:
    """A decoded v2 inference request: named input arrays and what to send back."""

    inputs: dict[str, NDArray[Any]]
    request_id: str | None = None
    requested_outputs: list[str] | None = None
    """Output names asked for; None means every output."""
    binary_outputs: set[str] = field(default_factory=set)
    """Outputs to return with the binary tensor extension."""
    binary_default: bool = False
    """``parameters.binary_data_output``: every output in binary unless said otherwise."""


def _shape_of(raw: Any, name: str) -> tuple[int, ...]:
    if not isinstance(raw, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in raw
    ):
        raise BadInput(f"input {name!r}: 'shape' must be a list of non-negative integers")
    count = math.prod(raw)
    if count > _MAX_ELEMENTS:
        raise BadInput(f"input {name!r}: shape {raw} has {count} elements, over {_MAX_ELEMENTS}")
    return tuple(raw)


def _decode_bytes_blob(blob: bytes, count: int, name: str) -> NDArray[Any]:
    """BYTES in binary form: each element is a 4-byte little-endian length then the bytes."""
    items: list[bytes] = []
    offset = 0
    while offset < len(blob):
        if offset + 4 > len(blob):
            raise BadInput(f"input {name!r}: truncated BYTES element length")
        (length,) = struct.unpack_from("<I", blob, offset)
        offset += 4
        if offset + length > len(blob):
            raise BadInput(f"input {name!r}: a BYTES element runs past the binary data")
        items.append(blob[offset : offset + length])
        offset += length
    if len(items) != count:
        raise BadInput(f"input {name!r}: {len(items)} BYTES elements for a shape of {count}")
    return np.array(items, dtype=np.object_)


def _decode_tensor(
    entry: Any, binary: memoryview | None, offset: int
) -> tuple[str, NDArray[Any], int]:
    """Decode one ``inputs[i]`` entry; returns (name, array, new binary offset)."""
    if not isinstance(entry, dict):
        raise BadInput("each entry of 'inputs' must be an object with name, shape, datatype, data")
    name = entry.get("name")
    if not isinstance(name, str):
        raise BadInput("an input has no 'name' (a string)")
    datatype = entry.get("datatype")
    dtype = DATATYPE_TO_NUMPY.get(datatype) if isinstance(datatype, str) else None
    if dtype is None or not isinstance(datatype, str):
        known = ", ".join(DATATYPE_TO_NUMPY)
        raise BadInput(f"input {name!r}: datatype {datatype!r} is not one of {known}")
    shape = _shape_of(entry.get("shape"), name)
    count = math.prod(shape)
    params = entry.get("parameters") or {}
    size = params.get("binary_data_size") if isinstance(params, dict) else None
    if size is not None:
        if binary is None:
            raise BadInput(
                f"input {name!r} has binary_data_size but the request has no "
                "Inference-Header-Content-Length header"
            )
        if not isinstance(size, int) or size < 0 or offset + size > len(binary):
            raise BadInput(f"input {name!r}: binary_data_size {size} runs past the body")
        blob = binary[offset : offset + size]
        offset += size
        if datatype == "BYTES":
            array = _decode_bytes_blob(bytes(blob), count, name)
        else:
            if size != count * dtype.itemsize:
                raise BadInput(
                    f"input {name!r}: {size} bytes of binary data, expected {count} "
                    f"{datatype} elements = {count * dtype.itemsize} bytes for shape {list(shape)}"
                )
            array = np.frombuffer(blob, dtype=dtype.newbyteorder("<")).astype(dtype, copy=False)
        return name, array.reshape(shape), offset
    if "data" not in entry:
        raise BadInput(f"input {name!r} has no 'data'")
    return name, _array_from_json(entry["data"], dtype, datatype, shape, name), offset


def _array_from_json(
    data: Any, dtype: np.dtype[Any], datatype: str, shape: tuple[int, ...], name: str
) -> NDArray[Any]:
    if datatype == "BYTES":
        items = _flatten(data)
        if not all(isinstance(item, str) for item in items):
            raise BadInput(f"input {name!r}: a BYTES tensor's 'data' must be a list of strings")
        flat = np.array([item.encode() for item in items], dtype=np.object_)
    else:
        foreign = non_number_in(data) if datatype != "BOOL" else None
        if foreign is not None:
            raise BadInput(
                f"input {name!r}: 'data' holds JSON {foreign} but the tensor is "
                f"{datatype}: send numbers"
            )
        try:
            flat = np.asarray(data, dtype=dtype).reshape(-1)
        except (ValueError, TypeError, OverflowError):
            raise BadInput(
                f"input {name!r}: 'data' must be a flat or nested list of {datatype} numbers "
                "(ragged lists and strings are refused)"
            ) from None
    if flat.size != math.prod(shape):
        raise BadInput(
            f"input {name!r}: {flat.size} elements in 'data' but shape {list(shape)} "
            f"needs {math.prod(shape)}"
        )
    return flat.reshape(shape)


_NUMBERS: Final[frozenset[type]] = frozenset({int, float})


def non_number_in(data: Any) -> str | None:
    """``"booleans (true/false)"`` or ``"strings"`` when a JSON value (a number or nested
    lists of them) holds one anywhere, else None.

    numpy turns ``true`` into 1.0 and ``"0.5"`` into 0.5 without a word, so ``[true] * 64``
    would be served as a row of ones and strings as numbers; a numeric tensor refuses both
    instead. ``set(map(type, ...))`` keeps the scan at C speed for the usual flat list, and
    an explicit stack (not recursion) keeps a 5,000-deep nesting a 400, not a
    RecursionError.
    """
    stack = [data]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is list:
            kinds = set(map(type, item))
            if kinds <= _NUMBERS:
                continue
            if bool in kinds:
                return "booleans (true/false)"
            if str in kinds:
                return "strings"
            stack.extend(x for x in item if type(x) is list)
        elif kind is bool:
            return "booleans (true/false)"
        elif kind is str:
            return "strings"
    return None


def _flatten(data: Any) -> list[Any]:
    """Leaves of nested lists, in order (iterative: no recursion limit to hit)."""
    out: list[Any] = []
    stack = [iter([data])]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def decode_request(body: Any, binary: memoryview | None = None) -> InferRequest:
    """Decode a parsed v2 request body (``binary``: the bytes after the JSON header).

    :raise BadInput: anything malformed, with the input's name and what was expected.
    """
    if not isinstance(body, dict):
        raise BadInput("the body must be a JSON object with an 'inputs' list")
    raw_inputs = body.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise BadInput("'inputs' must be a non-empty list of tensors")
    inputs: dict[str, NDArray[Any]] = {}
    offset = 0
    for entry in raw_inputs:
        name, array, offset = _decode_tensor(entry, binary, offset)
        if name in inputs:
            raise BadInput(f"input {name!r} is given twice")
        inputs[name] = array
    request = InferRequest(inputs=inputs)
    rid = body.get("id")
    request.request_id = rid if isinstance(rid, str) else None
    params = body.get("parameters")
    if isinstance(params, dict) and params.get("binary_data_output") is True:
        request.binary_default = True
    outputs = body.get("outputs")
    if outputs is not None:
        if not isinstance(outputs, list):
            raise BadInput("'outputs' must be a list of {'name': ...} objects")
        request.requested_outputs = []
        for out in outputs:
            if not isinstance(out, dict) or not isinstance(out.get("name"), str):
                raise BadInput("each entry of 'outputs' must be an object with a 'name'")
            request.requested_outputs.append(out["name"])
            out_params = out.get("parameters")
            binary_flag = out_params.get("binary_data") if isinstance(out_params, dict) else None
            if binary_flag is True or (binary_flag is None and request.binary_default):
                request.binary_outputs.add(out["name"])
    return request


def _json_data(array: NDArray[Any]) -> list[Any]:
    flat = array.reshape(-1)
    if array.dtype == np.object_:
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in flat]
    return flat.tolist()


def _bytes_blob(array: NDArray[Any]) -> bytes:
    if array.dtype == np.object_ or array.dtype.kind in "SU":
        parts = []
        for v in array.reshape(-1):
            b = v if isinstance(v, bytes) else str(v).encode()
            parts.append(struct.pack("<I", len(b)) + b)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def encode_response(
    model_name: str,
    model_version: int,
    outputs: Mapping[str, NDArray[Any]],
    request: InferRequest,
) -> tuple[dict[str, Any], list[bytes]]:
    """Build the v2 response header (a dict) and the binary blobs that follow it, in order.

    :raise BadInput: an output was asked for that the model does not have.
    """
    names = request.requested_outputs if request.requested_outputs is not None else list(outputs)
    entries: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for name in names:
        array = outputs.get(name)
        if array is None:
            raise BadInput(
                f"output {name!r} does not exist; model {model_name!r} has {', '.join(outputs)}"
            )
        entry: dict[str, Any] = {
            "name": name,
            "datatype": datatype_of(array),
            "shape": list(array.shape),
        }
        if name in request.binary_outputs or (
            request.requested_outputs is None and request.binary_default
        ):
            blob = _bytes_blob(array)
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            entry["data"] = _json_data(array)
        entries.append(entry)
    header: dict[str, Any] = {
        "model_name": model_name,
        "model_version": str(model_version),
        "outputs": entries,
    }
    if request.request_id is not None:
        header["id"] = request.request_id
    return header, blobs
