"""Calibration data: iterables of feeds, from a .npy file, an image folder or the demo split.

A feed is what onnxruntime's ``session.run`` takes: ``{input_name: array}``, one batch. Any
iterable of feeds calibrates (a list, a generator); :func:`check_calibration` materialises
it once, refuses an empty set and checks every batch against the model's input, so a
wrong shape or dtype is reported in our words before onnxruntime fails deep inside.
:class:`FeedReader` adapts the list to ORT's one-method ``CalibrationDataReader`` protocol.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from onnxruntime.quantization import CalibrationDataReader

from utils.errors import BadInput

Feed = dict[str, NDArray[Any]]
"""One batch of named inputs, like ``CalibrationDataReader.get_next()`` returns."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def batches(array: NDArray[Any], input_name: str, *, batch_size: int = 64) -> list[Feed]:
    """Split an array along its first axis into feeds of ``batch_size`` rows."""
    if batch_size < 1:
        raise BadInput(f"batch_size must be >= 1, got {batch_size}")
    return [{input_name: array[i : i + batch_size]} for i in range(0, len(array), batch_size)]


def feeds_from_npy(path: Path, input_name: str, *, batch_size: int = 64) -> list[Feed]:
    """Read calibration inputs from a ``.npy`` file already in the model's input layout.

    :raise BadInput: the file is missing or is not a numpy array file.
    """
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise BadInput(f"calibration file {path} does not exist") from None
    except (ValueError, OSError) as exc:
        raise BadInput(f"calibration file {path} is not a .npy array: {exc}") from None
    return batches(array, input_name, batch_size=batch_size)


def feeds_from_digits(
    input_name: str, layout: str, *, samples: int | None = None, batch_size: int = 64
) -> list[Feed]:
    """The demo split's TRAIN images (never the test images accuracy is measured on).

    All 1,437 by default: STACK.md found that 200 samples saturate a CNN's output logits
    under static MinMax calibration; the whole train split costs well under a second.
    """
    from utils.digits import load_split, to_layout

    split = load_split()
    images = split.x_train if samples is None else split.x_train[:samples]
    return batches(to_layout(images, layout), input_name, batch_size=batch_size)


def feeds_from_image_folder(
    folder: Path, input_name: str, layout: str, *, batch_size: int = 64
) -> list[Feed]:
    """Images of digits (any size, dark ink or light ink) through the serving preprocessing.

    Uses exactly the function the apps use (``utils.preprocessing.image_to_digit``), so the
    ranges seen in calibration are the ranges seen in production.
    """
    from utils.digits import to_layout
    from utils.preprocessing import image_to_digit

    if not folder.is_dir():
        raise BadInput(f"calibration folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise BadInput(f"calibration folder {folder} holds no image ({', '.join(IMAGE_SUFFIXES)})")
    images = np.stack([image_to_digit(p.read_bytes()) for p in files]).astype(np.float32)
    return batches(to_layout(images, layout), input_name, batch_size=batch_size)


def feeds_from_images(
    folder: Path,
    input_name: str,
    *,
    image_size: tuple[int, int],
    layout: str,
    channels: int,
    batch_size: int = 64,
) -> list[Feed]:
    """Pictures for an ``image`` model (any size): resized to ``image_size`` (height,
    width), grey or RGB as the model's ``channels``, scaled to [0, 1], in ``layout``
    (``NCHW`` or ``NHWC``): the manifest's ``preprocessing`` for an image model.
    """
    from PIL import Image

    if not folder.is_dir():
        raise BadInput(f"calibration folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise BadInput(f"calibration folder {folder} holds no image ({', '.join(IMAGE_SUFFIXES)})")
    mode = "L" if channels == 1 else "RGB"
    height, width = image_size
    pictures = []
    for path in files:
        with Image.open(path) as image:
            resized = image.convert(mode).resize((width, height), Image.Resampling.BILINEAR)
        array = np.asarray(resized, np.float32).reshape(height, width, channels) / 255.0
        pictures.append(array.transpose(2, 0, 1) if layout == "NCHW" else array)
    return batches(np.stack(pictures).astype(np.float32), input_name, batch_size=batch_size)


def _matches(shape: tuple[int, ...], expected: list[int | str | None]) -> bool:
    if len(shape) != len(expected):
        return False
    return all(
        not isinstance(e, int) or e <= 0 or e == s for s, e in zip(shape, expected, strict=True)
    )


def check_calibration(
    calibration: Iterable[Feed], inputs: dict[str, tuple[list[int | str | None], np.dtype[Any]]]
) -> list[Feed]:
    """Materialise the feeds and check each against the model's inputs.

    ``inputs`` maps an input name to (shape with ``None``/names for dynamic dims, dtype).

    :raise BadInput: the set is empty, an input is missing or unknown, or a batch has the
        wrong rank, fixed dimension or dtype (the message names the batch and the input).
    """
    feeds = list(calibration)
    if not feeds:
        raise BadInput("the calibration set is empty: give at least one batch of inputs")
    for index, feed in enumerate(feeds):
        if set(feed) != set(inputs):
            raise BadInput(
                f"calibration batch {index} has inputs {sorted(feed)}; "
                f"the model takes {sorted(inputs)}"
            )
        for name, (shape, dtype) in inputs.items():
            array = np.asarray(feed[name])
            if array.dtype != dtype:
                raise BadInput(
                    f"calibration batch {index}, input {name!r}: dtype {array.dtype}, "
                    f"the model takes {dtype} (convert with .astype(np.{dtype}))"
                )
            if not _matches(array.shape, shape):
                raise BadInput(
                    f"calibration batch {index}, input {name!r}: shape {list(array.shape)}, "
                    f"the model takes {shape}"
                )
            if array.size == 0:
                raise BadInput(f"calibration batch {index}, input {name!r} is empty")
    return feeds


class FeedReader(CalibrationDataReader):  # type: ignore[misc]
    """ORT's ``CalibrationDataReader`` protocol over a list of feeds (``get_next`` -> None at end).

    ORT's quantizer calls ``get_next`` until None, and may ``rewind``; this reader supports
    both, so one list calibrates several recipes in the automatic mode.
    """

    def __init__(self, feeds: list[Feed]) -> None:
        self._feeds = feeds
        self._iter: Iterator[Feed] = iter(feeds)

    def get_next(self) -> Feed | None:
        """The next batch, or None when all were read."""
        return next(self._iter, None)

    def rewind(self) -> None:
        """Start again from the first batch."""
        self._iter = iter(self._feeds)

    def __len__(self) -> int:
        return len(self._feeds)
