"""Input kinds: what a person sends, turned into the model's feed, one kind per manifest.

``/predict`` (the API), ``/api/predict`` (the page) and the CLIs accept plain JSON
``inputs`` whose form depends on the model's ``preprocessing.kind``:

=============  ==============================================================
digits-8x8     8x8 pixels in [0, 1] (``[8, 8]``, ``[N, 8, 8]``, ``[N, 64]``), or an image upload
tabular        rows of numbers ``[[...], ...]`` / one row ``[...]``, or objects by feature name
text           a sentence or a list of sentences (tokenized here, with the model's tokenizer)
series         windows of exactly W numbers: ``[[...W...], ...]`` or one ``[...W...]``
tensor         rows reshaped to the model's input (one input), or ``{input name: rows}``
=============  ==============================================================

Every refusal says what this model takes, so an error never points at another model's
form. ``features`` gives monitoring the numbers to profile for drift (a row per input).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers.codec import DATATYPE_TO_NUMPY, non_number_in
from utils.deployment_helpers.manifest import Manifest, TensorSpec
from utils.deployment_helpers.signature import TokenLimits
from utils.deployment_helpers.tasks.base import Feed, Row
from utils.deployment_helpers.tasks.series import windows_of
from utils.errors import BadInput, UnsupportedMediaType

if TYPE_CHECKING:
    from utils.deployment_helpers.served_model import ServedModel

MAX_ROWS: Final[int] = 1024
"""Most rows one plain-JSON request may carry (the model's batch limit applies too)."""


def _numbers(raw: Any, what: str, dtype: np.dtype[Any]) -> NDArray[Any]:
    """A nested list of JSON numbers as an array; :raise BadInput: anything else."""
    foreign = non_number_in(raw)
    if foreign is not None:
        raise BadInput(f"{what} holds JSON {foreign}: send numbers")
    try:
        return np.asarray(raw, dtype=dtype)
    except (ValueError, TypeError, OverflowError):
        raise BadInput(f"{what}: send lists of numbers of equal length") from None


def _finite(array: NDArray[Any], what: str) -> None:
    if array.dtype.kind == "f" and array.size and not np.isfinite(array).all():
        raise BadInput(f"{what} contains NaN or infinite values: send finite numbers")


class InputKind:
    """Raw tensors (``tensor``): rows reshaped to the model's input when the count fits."""

    name: ClassVar[str] = "tensor"
    widget: ClassVar[str] = "json"
    """Which control the page shows for it."""

    def describe(self, model: ServedModel) -> str:
        """What to send, for error messages."""
        specs = model.manifest.inputs
        if len(specs) == 1:
            return f"rows of numbers shaped like {specs[0].shape[1:]} (input {specs[0].name!r})"
        return "an object of rows by input name: " + ", ".join(s.name for s in specs)

    def feed_from_json(self, model: ServedModel, inputs: Any) -> Feed:
        """The feed for a plain-JSON ``inputs`` value. :raise BadInput: saying what to send."""
        specs = {s.name: s for s in model.manifest.inputs}
        if isinstance(inputs, dict):
            unknown = [n for n in inputs if n not in specs]
            if unknown:
                raise BadInput(
                    f"unknown input {unknown[0]!r}; model {model.name!r} takes {', '.join(specs)}"
                )
            return {name: _tensor_rows(specs[name], rows) for name, rows in inputs.items()}
        if len(specs) != 1:
            raise BadInput(
                f"model {model.name!r} takes several inputs ({', '.join(specs)}): send "
                "'inputs' as an object by input name"
            )
        (spec,) = specs.values()
        return {spec.name: _tensor_rows(spec, inputs)}

    def feed_from_upload(self, model: ServedModel, data: bytes, limits: UploadLimits) -> Feed:
        """The feed for an uploaded file; most kinds take none (415, saying what to send)."""
        raise UnsupportedMediaType(
            f"model {model.name!r} does not take an image upload: send JSON "
            f'{{"model": "{model.name}", "inputs": ...}} with {self.describe(model)}'
        )

    def read_upload(
        self, model: ServedModel, data: bytes, limits: UploadLimits
    ) -> tuple[Feed, list[Row]]:
        """The feed for an uploaded file, and per row what the task kind may need of the
        original (a picture's ``image_size``); most kinds report nothing."""
        return self.feed_from_upload(model, data, limits), []

    def features(self, model: ServedModel, feed: Feed) -> NDArray[np.float32] | None:
        """Numbers to profile for drift, one row per input row ([N, F]), or None."""
        if len(feed) != 1:
            return None
        array = next(iter(feed.values()))
        if array.dtype.kind not in "fiub" or array.ndim == 0:
            return None
        return array.reshape(len(array), -1).astype(np.float32, copy=False)

    def echo(self, model: ServedModel, feed: Feed) -> list[Row]:
        """Per-row facts about what the model saw, added to each answer ([] for none)."""
        return []


class UploadLimits:
    """Size limits an upload is checked against before it is decoded."""

    def __init__(self, max_bytes: int, max_pixels: int) -> None:
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels


def _tensor_rows(spec: TensorSpec, rows: Any) -> NDArray[Any]:
    """Rows cast to the spec's dtype and reshaped to its layout when the count fits."""
    if spec.datatype == "BYTES":
        raise BadInput(f"input {spec.name!r} takes strings: send them with the v2 protocol")
    array = _numbers(rows, f"input {spec.name!r}", DATATYPE_TO_NUMPY[spec.datatype])
    if array.ndim == 0:
        raise BadInput(f"input {spec.name!r}: send a list of rows, e.g. [[...], [...]]")
    tail = spec.shape[1:]
    if all(d > 0 for d in tail):
        per_row = math.prod(tail)
        if array.ndim == 1 and array.size == per_row:
            array = array.reshape(1, -1)  # one row sent without the outer list
        if array.size and array.size == array.shape[0] * per_row:
            array = array.reshape(array.shape[0], *tail)
    return array


class Digits8x8(InputKind):
    """8x8 digits in [0, 1] (JSON), or a picture of one digit (upload or drawing)."""

    name = "digits-8x8"
    widget = "canvas"
    SIDE: ClassVar[int] = 8

    def describe(self, model: ServedModel) -> str:
        return "8x8 pixels in [0, 1]: [8, 8], [N, 8, 8], [64] or [N, 64]"

    def feed_from_json(self, model: ServedModel, inputs: Any) -> Feed:
        return self._feed(model, self.pixels_from_json(inputs))

    def pixels_from_json(self, raw: Any) -> NDArray[np.float32]:
        """[N, 8, 8] pixels from one [8, 8], a batch [N, 8, 8], or flat [64] / [N, 64]."""
        array = _numbers(raw, "'inputs'", np.dtype(np.float32))
        side = self.SIDE
        if array.shape in ((side, side), (side * side,)):
            array = array.reshape(1, side, side)
        elif array.ndim == 2 and array.shape[1] == side * side:
            array = array.reshape(-1, side, side)
        if array.ndim != 3 or array.shape[1:] != (side, side):
            raise BadInput(
                f"'inputs' has shape {list(array.shape)}: send [8, 8], [N, 8, 8], [64] or "
                "[N, 64] pixels in [0, 1]"
            )
        if array.shape[0] == 0:
            raise BadInput("'inputs' is empty: send at least one 8x8 image")
        _finite(array, "'inputs'")
        if array.min() < 0.0 or array.max() > 1.0:
            raise BadInput(
                "'inputs' must be pixels in [0, 1] (raw 0..16 digits divided by 16), "
                f"got values from {array.min():g} to {array.max():g}"
            )
        return array

    def feed_from_upload(self, model: ServedModel, data: bytes, limits: UploadLimits) -> Feed:
        from utils.preprocessing import image_to_digit  # Pillow: only when images are served

        pixels = image_to_digit(data, max_pixels=limits.max_pixels, max_bytes=limits.max_bytes)
        return self._feed(model, pixels[np.newaxis])

    def _feed(self, model: ServedModel, images: NDArray[np.float32]) -> Feed:
        from utils.digits import to_layout

        spec = model.manifest.inputs[0]
        layout = model.manifest.preprocessing.layout or "flat"
        return {spec.name: to_layout(images, layout)}

    def echo(self, model: ServedModel, feed: Feed) -> list[Row]:
        array = next(iter(feed.values()))
        images = array.reshape(len(array), self.SIDE, self.SIDE)
        return [{"pixels": np.round(image, 4).tolist()} for image in images]


class Tabular(InputKind):
    """Rows of named features: ``[[...], ...]``, one row ``[...]``, or objects by name."""

    name = "tabular"
    widget = "form"

    def _width(self, model: ServedModel) -> int:
        names = model.manifest.preprocessing.feature_names
        shape = model.manifest.inputs[0].shape
        return len(names) or (shape[-1] if shape[-1] > 0 else 0)

    def describe(self, model: ServedModel) -> str:
        names = model.manifest.preprocessing.feature_names
        width = self._width(model)
        if names:
            return f"rows of {width} numbers ({', '.join(names)}), or objects by feature name"
        return f"rows of {width} numbers"

    def feed_from_json(self, model: ServedModel, inputs: Any) -> Feed:
        names = model.manifest.preprocessing.feature_names
        if isinstance(inputs, dict) or (
            isinstance(inputs, list) and inputs and isinstance(inputs[0], dict)
        ):
            rows = [inputs] if isinstance(inputs, dict) else inputs
            inputs = [self._row_from_object(model, names, row) for row in rows]
        spec = model.manifest.inputs[0]
        takes = f"model {model.name!r} takes {self.describe(model)}"
        try:
            array = _numbers(inputs, "'inputs'", DATATYPE_TO_NUMPY[spec.datatype])
            _finite(array, "'inputs'")
        except BadInput as exc:  # a string or a NaN: say what the model takes, too
            raise BadInput(f"{exc}; {takes}") from None
        width = self._width(model)
        if array.ndim == 1 and array.size == width:
            array = array.reshape(1, -1)
        if array.ndim != 2 or (width and array.shape[1] != width) or array.shape[0] == 0:
            raise BadInput(f"'inputs' has shape {list(array.shape)}: {takes}")
        return {spec.name: array}

    def _row_from_object(self, model: ServedModel, names: list[str], row: Any) -> list[Any]:
        if not names:
            raise BadInput(
                f"model {model.name!r} records no feature names: send rows of "
                f"{self._width(model)} numbers in training order"
            )
        if not isinstance(row, dict):
            raise BadInput("send every row the same way: all lists or all objects")
        missing = [n for n in names if n not in row]
        unknown = [k for k in row if k not in names]
        if missing or unknown:
            problem = f"missing {missing}" if missing else f"unknown {unknown}"
            raise BadInput(f"a row has {problem} features; model {model.name!r} takes {names}")
        return [row[n] for n in names]


class Text(InputKind):
    """Sentences, tokenized with the model's own tokenizer.json (``tokenizers`` only)."""

    name = "text"
    widget = "text"

    def describe(self, model: ServedModel) -> str:
        return 'a sentence or a list of sentences, e.g. ["I loved it", "Too slow"]'

    def feed_from_json(self, model: ServedModel, inputs: Any) -> Feed:
        sentences = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
            raise BadInput(f"model {model.name!r} takes {self.describe(model)}")
        return self.tokenize(model, sentences)

    def tokenize(self, model: ServedModel, sentences: list[str]) -> Feed:
        """The graph's token inputs for ``sentences``.

        A sentence over the model's token limit is refused, not truncated: a sentiment
        read from the first 256 tokens of a review that turns at the end is a wrong
        answer given with confidence. Tokenizing to one token more than the limit tells
        the two apart at no extra cost.

        :raise BadInput: no sentence, an empty one, or one over the token limit.
        """
        from utils.text import DEFAULT_MAX_LENGTH, tokenize

        if not sentences:
            raise BadInput(f"no sentence given: model {model.name!r} takes {self.describe(model)}")
        for i, sentence in enumerate(sentences):
            if not sentence.strip():
                raise BadInput(
                    f"sentence {i} is empty: model {model.name!r} takes "
                    f"{self.describe(model)}, each with at least one word"
                )
        limit = model.manifest.preprocessing.max_length or DEFAULT_MAX_LENGTH
        tokenizer = tokenizer_path(model.manifest, model.path.parent.parent)
        feed = tokenize(sentences, tokenizer, max_length=limit + 1)
        lengths = feed["attention_mask"].sum(axis=1)
        if lengths.size and int(lengths.max()) > limit:
            i = int(np.argmax(lengths > limit))
            raise BadInput(
                f"sentence {i} is over the {limit}-token limit of model {model.name!r}: "
                "shorten it or split it into several sentences"
            )
        wanted = {spec.name for spec in model.manifest.inputs}
        return {k: v for k, v in feed.items() if k in wanted}

    def features(self, model: ServedModel, feed: Feed) -> NDArray[np.float32] | None:
        mask = feed.get("attention_mask")
        if mask is None:
            return None
        tokens: NDArray[np.float32] = mask.sum(axis=1, keepdims=True).astype(np.float32)
        return tokens  # tokens per sentence


def tokenizer_path(manifest: Manifest, model_dir: Path) -> Path:
    """The model's tokenizer.json. :raise BadInput: the manifest names none."""
    if not manifest.preprocessing.tokenizer:
        raise BadInput(f"model {manifest.name!r} is a text model without a tokenizer file")
    return model_dir / manifest.preprocessing.tokenizer


def token_limits(manifest: Manifest, model_dir: Path) -> TokenLimits | None:
    """The token checks of a text model (vocabulary size from its tokenizer.json)."""
    if manifest.preprocessing.kind != "text" or not manifest.preprocessing.tokenizer:
        return None
    from utils.text import DEFAULT_MAX_LENGTH

    path = tokenizer_path(manifest, model_dir)
    if not path.is_file():
        raise BadInput(f"model {manifest.name!r}: its tokenizer file is missing: republish it")
    return TokenLimits(
        vocab_size=_vocab_size(str(path)),
        max_tokens=manifest.preprocessing.max_length or DEFAULT_MAX_LENGTH,
    )


@lru_cache(maxsize=16)
def _vocab_size(path: str) -> int:
    """Ids a tokenizer.json can produce: its model's vocabulary plus added tokens.

    Read as JSON, so a server that takes token ids over v2 needs no ``tokenizers`` wheel.
    """
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    ids = list(spec.get("model", {}).get("vocab", {}).values())
    ids += [token.get("id", 0) for token in spec.get("added_tokens") or []]
    if not ids or not all(isinstance(i, int) for i in ids):
        raise BadInput(f"{Path(path).name} holds no vocabulary of token ids")
    return int(max(ids)) + 1


class Series(InputKind):
    """Windows of a time series, W points each (``preprocessing.window``)."""

    name = "series"
    widget = "series"

    def _window(self, model: ServedModel) -> int:
        shape = model.manifest.inputs[0].shape
        return model.manifest.preprocessing.window or (shape[-1] if shape[-1] > 0 else 0)

    def describe(self, model: ServedModel) -> str:
        window = self._window(model)
        return (
            f"windows of exactly {window} numbers ([[...{window}...], ...]), or one series "
            f"of at least {window} numbers, oldest first"
        )

    def feed_from_json(self, model: ServedModel, inputs: Any) -> Feed:
        """Windows ``[[...W...], ...]``, or one flat series sliced into its windows
        (see ``tasks/series.py``)."""
        spec = model.manifest.inputs[0]
        array = _numbers(inputs, "'inputs'", DATATYPE_TO_NUMPY[spec.datatype])
        window = self._window(model)
        if array.ndim == 1 and window:
            _finite(array, f"'inputs' (model {model.name!r} takes {self.describe(model)})")
            array = windows_of(array, window, model.batching.max_batch_size, model.name)
        elif array.ndim == 1:
            array = array.reshape(1, -1)  # no known width: one window
        if array.ndim != 2 or array.shape[0] == 0 or (window and array.shape[1] != window):
            raise BadInput(
                f"'inputs' has shape {list(array.shape)}: model {model.name!r} takes "
                f"{self.describe(model)}"
            )
        _finite(array, f"'inputs' (model {model.name!r} takes {self.describe(model)})")
        return {spec.name: array}


KINDS: Final[dict[str, InputKind]] = {
    kind.name: kind for kind in (InputKind(), Digits8x8(), Tabular(), Text(), Series())
}


def input_kind_of(manifest: Manifest) -> InputKind:
    """The input kind a manifest declares (raw tensors for kinds served only over v2)."""
    return KINDS.get(manifest.preprocessing.kind, KINDS["tensor"])
