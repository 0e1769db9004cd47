"""The ``image`` input kind: a picture of any size, letterboxed into the model's input.

An upload (a photo, a scan, the page's wide drawing pad) is decoded under the app's
``max_upload_bytes`` / ``max_image_pixels`` limits, its ink made high (a canvas' opacity,
or dark ink on light paper inverted), scaled with its aspect kept into the manifest's
``preprocessing.image_size`` and laid out as ``preprocessing.layout`` says. The picture's
own size goes with each row, so a task kind can answer in its pixels (a detector's boxes).
Plain JSON takes raw rows of the model's input, as for any tensor model; v2 takes the
graph's own tensor and never comes here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers.tasks.base import Feed, Row
from utils.deployment_helpers.tasks.inputs import InputKind, UploadLimits
from utils.errors import BadInput, UnsupportedMediaType

if TYPE_CHECKING:
    from utils.deployment_helpers.served_model import ServedModel

IMAGE_FIELD: Final[str] = "image"
"""The multipart field that carries a picture, in both apps."""

MIN_INK: Final[float] = 0.1
"""A picture whose strongest ink (0..1, after the contrast stretch) stays below this is
empty: refused, as an empty digit drawing is, rather than answered with nothing found."""


def checked_upload(data: bytes | None, received: list[str]) -> bytes:
    """The bytes of the ``image`` file field (``None``: no such field), as both apps check
    them. :raise BadInput: no file (naming the fields that did come), or an empty one."""
    if data is None:
        listed = ", ".join(repr(name) for name in sorted(set(received))) or "none"
        raise BadInput(
            f"no file in the multipart field {IMAGE_FIELD!r} (fields received: {listed}): "
            f"send the image as {IMAGE_FIELD}=@digit.png"
        )
    if not data:
        raise BadInput("the uploaded file is empty: choose a PNG or JPEG image")
    return data


def not_multipart() -> UnsupportedMediaType:
    """The refusal for a picture door called with another body than multipart/form-data."""
    return UnsupportedMediaType(
        f"send the picture as multipart/form-data: -F {IMAGE_FIELD}=@number.png"
    )


def _input_size(model: ServedModel) -> tuple[int, int]:
    size = model.manifest.preprocessing.image_size or []
    if len(size) != 2:
        raise BadInput(f"model {model.name!r} records no preprocessing.image_size: republish it")
    return int(size[0]), int(size[1])


class Picture(InputKind):
    """A picture upload (PNG, JPEG, a drawing), or raw rows of the model's input as JSON."""

    name = "image"
    widget = "picture"

    def describe(self, model: ServedModel) -> str:
        height, width = _input_size(model)
        return (
            f"a picture (multipart field {IMAGE_FIELD!r}, PNG or JPEG), or rows of "
            f"{height}x{width} ink values in [0, 1] as JSON"
        )

    def feed_from_upload(self, model: ServedModel, data: bytes, limits: UploadLimits) -> Feed:
        return self.read_upload(model, data, limits)[0]

    def read_upload(
        self, model: ServedModel, data: bytes, limits: UploadLimits
    ) -> tuple[Feed, list[Row]]:
        try:
            from utils.vision.detection import image_to_detector_input  # Pillow, lazily
        except ImportError:  # a serving bundle without Pillow (vercel.json leaves it out)
            raise UnsupportedMediaType(
                f"this server decodes no pictures (Pillow is not installed): send model "
                f"{model.name!r} its input tensor over v2 instead"
            ) from None
        pixels, (height, width) = image_to_detector_input(
            data,
            input_size=_input_size(model),
            max_pixels=limits.max_pixels,
            max_bytes=limits.max_bytes,
        )
        if float(pixels.max()) < MIN_INK:
            raise BadInput("the drawing is empty: no ink was found in the image")
        spec = model.manifest.inputs[0]
        layout = model.manifest.preprocessing.layout or "NCHW"
        batch = pixels[np.newaxis]  # [1, 1, h, w]
        if layout == "NHWC":
            batch = batch.transpose(0, 2, 3, 1)
        elif layout == "flat":
            batch = batch.reshape(1, -1)
        return {spec.name: batch}, [{"image_size": [height, width]}]

    def features(self, model: ServedModel, feed: Feed) -> NDArray[np.float32] | None:
        """The share of ink per picture ([N, 1]): thousands of pixels per row would make
        the prediction log heavy and a drift test on them meaningless."""
        array: NDArray[Any] = next(iter(feed.values()))
        ink: NDArray[np.float32] = (
            array.reshape(len(array), -1).mean(axis=1, keepdims=True).astype(np.float32)
        )
        return ink
