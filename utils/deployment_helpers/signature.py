"""A model's signature and the check every request passes before onnxruntime sees it.

onnxruntime's own errors ("INVALID_ARGUMENT : Got invalid dimensions for input ...") are
written for developers of onnxruntime, come after the work was queued, and some inputs
(NaN, a huge batch) it accepts silently. We check names, datatypes, ranks, fixed
dimensions, the batch size and finiteness first, and say in each message what to send.

For token inputs (text models) we also check what onnxruntime would reject or silently
get wrong: ids outside the vocabulary (MiniLM's Gather fails on id 30522, and failed a
whole dynamic batch with it; its int8 version answered a constant embedding), an
attention mask of another shape than the ids, empty sequences, and sequences over the
model's token limit (which also bounds the memory one request can take).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers.codec import DATATYPE_TO_NUMPY, datatype_of
from utils.deployment_helpers.manifest import TensorSpec
from utils.errors import BadInput


@dataclass(frozen=True)
class TokenLimits:
    """What a text model's token inputs may hold."""

    vocab_size: int
    """Ids must lie in [0, vocab_size)."""
    max_tokens: int
    """Longest accepted sequence (the model's ``max_length``)."""
    ids_input: str = "input_ids"
    mask_input: str = "attention_mask"

    def check(self, model: str, inputs: Mapping[str, NDArray[Any]]) -> None:
        """:raise BadInput: out-of-vocabulary ids, a mask of another shape, an empty or an
        over-long sequence."""
        ids = inputs.get(self.ids_input)
        if ids is None:
            return
        if ids.ndim >= 2 and ids.shape[-1] == 0:
            raise BadInput(
                f"input {self.ids_input!r} holds 0 tokens per sequence: send at least one "
                "token (or send the text itself as a BYTES input named 'text')"
            )
        if ids.ndim >= 2 and ids.shape[-1] > self.max_tokens:
            raise BadInput(
                f"input {self.ids_input!r} holds {ids.shape[-1]} tokens per sequence; model "
                f"{model!r} takes at most {self.max_tokens}: truncate the text"
            )
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= self.vocab_size):
            raise BadInput(
                f"input {self.ids_input!r} holds token ids outside the vocabulary of model "
                f"{model!r} (valid ids: 0 to {self.vocab_size - 1}): tokenize with the "
                "model's own tokenizer.json"
            )
        mask = inputs.get(self.mask_input)
        if mask is not None:
            if mask.shape != ids.shape:
                raise BadInput(
                    f"input {self.mask_input!r} has shape {list(mask.shape)} but "
                    f"{self.ids_input!r} has {list(ids.shape)}: send one mask value per token"
                )
            if mask.size and (int(mask.min()) < 0 or int(mask.max()) > 1):
                raise BadInput(f"input {self.mask_input!r} must hold only 0 and 1")


@dataclass(frozen=True)
class Signature:
    """The inputs a model takes, and the largest batch it accepts (0: no batch dimension)."""

    model: str
    inputs: tuple[TensorSpec, ...]
    max_batch_size: int
    allow_non_finite: bool = False
    """NaN/Inf are refused unless the model says it handles them."""
    tokens: TokenLimits | None = None
    """For text models: the token checks (see :class:`TokenLimits`)."""

    def describe(self) -> str:
        """``input FP32 [-1, 1, 8, 8]`` for every input, for error messages."""
        return "; ".join(f"{s.name} {s.datatype} {s.shape}" for s in self.inputs)

    def validate(self, inputs: Mapping[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        """Return the inputs as contiguous arrays of the model's dtypes, or raise BadInput.

        The rows of the first dimension count as the batch; every input must agree on it.
        """
        if len(inputs) != len(self.inputs) or any(s.name not in inputs for s in self.inputs):
            self._refuse_names(inputs)
        out: dict[str, NDArray[Any]] = {}
        batch: int | None = None
        for spec in self.inputs:
            array = inputs[spec.name]
            self._check_datatype(spec, array)
            self._check_shape(spec, array)
            if self.max_batch_size > 0:
                rows = int(array.shape[0])
                if batch is not None and rows != batch:
                    raise BadInput(
                        f"model {self.model!r}: inputs disagree on the batch size "
                        f"({batch} vs {rows} rows in {spec.name!r})"
                    )
                batch = rows
            if (
                not self.allow_non_finite
                and array.dtype.kind == "f"
                and array.size
                # One reduction first: a NaN or an infinity makes the sum non-finite (as
                # can an overflow of float64 values, which the exact count then clears).
                and not np.isfinite(np.add.reduce(array, axis=None, dtype=np.float64))
            ):
                bad = int(np.count_nonzero(~np.isfinite(array)))
                if bad:
                    raise BadInput(
                        f"input {spec.name!r} contains {bad} NaN or infinite value(s); "
                        "send finite numbers only"
                    )
            out[spec.name] = np.ascontiguousarray(array)
        if batch is not None:
            if batch == 0:
                raise BadInput(f"model {self.model!r}: the batch is empty (0 rows)")
            if batch > self.max_batch_size:
                raise BadInput(
                    f"model {self.model!r}: a batch of {batch} rows is over the maximum of "
                    f"{self.max_batch_size}; split the request into smaller batches"
                )
        if self.tokens is not None:
            self.tokens.check(self.model, out)
        return out

    def _refuse_names(self, inputs: Mapping[str, NDArray[Any]]) -> None:
        """Raise the BadInput naming the missing or unknown inputs."""
        missing = [s.name for s in self.inputs if s.name not in inputs]
        if missing:
            raise BadInput(
                f"model {self.model!r}: missing input {', '.join(map(repr, missing))}; "
                f"it takes {self.describe()}"
            )
        expected = {s.name for s in self.inputs}
        extra = [n for n in inputs if n not in expected]
        raise BadInput(
            f"model {self.model!r}: unknown input {', '.join(map(repr, extra))}; "
            f"it takes {self.describe()}"
        )

    def _check_datatype(self, spec: TensorSpec, array: NDArray[Any]) -> None:
        if array.dtype != DATATYPE_TO_NUMPY[spec.datatype] and not (
            spec.datatype == "BYTES" and array.dtype.kind in "OSU"
        ):
            raise BadInput(
                f"input {spec.name!r} has datatype {datatype_of(array)}; model "
                f"{self.model!r} takes {spec.datatype}"
            )

    def _check_shape(self, spec: TensorSpec, array: NDArray[Any]) -> None:
        want = spec.shape
        got = array.shape
        ok = len(got) == len(want) and all(
            w == -1 or w == g for w, g in zip(want, got, strict=True)
        )
        if not ok:
            raise BadInput(
                f"input {spec.name!r} has shape {list(got)}; model {self.model!r} takes "
                f"{want} (-1 = any size)"
            )
