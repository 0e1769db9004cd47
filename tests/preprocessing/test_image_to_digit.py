"""utils.preprocessing: a person's picture of a digit becomes the 8x8 input of the models."""

from __future__ import annotations

import io
import zlib

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from utils.deployment_helpers.manifest import Preprocessing, read_manifest
from utils.digits import load_split
from utils.errors import BadInput, PayloadTooLarge, UnsupportedMediaType
from utils.paths import DEFAULT_MODEL_REPOSITORY, TESTDATA
from utils.preprocessing import image_to_digit, to_model_input

DEMO_MODELS = ("digits_torch", "digits_keras", "digits_sklearn")


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _predict(name: str, digit: np.ndarray) -> int:
    manifest = read_manifest(DEFAULT_MODEL_REPOSITORY / name)
    session = ort.InferenceSession(
        str(DEFAULT_MODEL_REPOSITORY / name / "1" / "model.onnx"),
        providers=["CPUExecutionProvider"],
    )
    outputs = session.run(None, {"input": to_model_input(digit, manifest.preprocessing)})
    names = [o.name for o in session.get_outputs()]
    return int(outputs[names.index(manifest.scores_output)].argmax())


@pytest.mark.parametrize("name", DEMO_MODELS)
@pytest.mark.parametrize("extension", ["png", "jpg"])
def test_every_sample_photo_is_classified_right_by_every_demo_model(
    name: str, extension: str
) -> None:
    predicted = [
        _predict(name, image_to_digit((TESTDATA / f"digit_{d}.{extension}").read_bytes()))
        for d in range(10)
    ]
    assert predicted == list(range(10))


def test_the_result_is_8x8_float32_in_the_unit_range_with_ink_high() -> None:
    digit = image_to_digit((TESTDATA / "digit_3.png").read_bytes())
    assert digit.shape == (8, 8) and digit.dtype == np.float32
    assert digit.min() >= 0.0 and digit.max() == pytest.approx(1.0)
    assert digit[:, 0].mean() < digit[:, 3:5].mean()  # ink in the middle, paper at the edge


def test_light_ink_on_a_dark_background_gives_the_same_digit_as_dark_on_light() -> None:
    photo = Image.open(TESTDATA / "digit_3.png").convert("L")
    inverted = Image.eval(photo, lambda v: 255 - v)
    assert np.abs(image_to_digit(_png(photo)) - image_to_digit(_png(inverted))).max() < 0.05


def test_a_canvas_drawing_with_a_transparent_background_uses_opacity_as_ink() -> None:
    photo = np.asarray(Image.open(TESTDATA / "digit_3.png").convert("L"), dtype=np.float32)
    alpha = np.clip((235 - photo) / 195 * 255, 0, 255).astype(np.uint8)
    rgba = np.zeros((*photo.shape, 4), dtype=np.uint8)
    rgba[..., 3] = alpha  # black strokes, transparent elsewhere
    assert _predict("digits_torch", image_to_digit(_png(Image.fromarray(rgba, "RGBA")))) == 3


def test_upscaled_held_out_digits_keep_most_of_the_models_accuracy() -> None:
    split = load_split()
    x = np.stack(
        [
            image_to_digit(
                _png(
                    Image.fromarray((255 * (1 - img)).astype(np.uint8)).resize(
                        (64, 64), Image.BILINEAR
                    )
                )
            )
            for img in split.x_test
        ]
    )
    session = ort.InferenceSession(
        str(DEFAULT_MODEL_REPOSITORY / "digits_torch" / "1" / "model.onnx"),
        providers=["CPUExecutionProvider"],
    )
    predicted = session.run(None, {"input": x.reshape(-1, 1, 8, 8)})[0].argmax(1)
    assert (predicted == split.y_test).mean() >= 0.9


def test_a_blank_page_is_an_empty_drawing() -> None:
    with pytest.raises(BadInput, match="empty"):
        image_to_digit(_png(Image.new("L", (64, 64), 255)))


def test_a_non_image_is_refused_as_unsupported_media() -> None:
    with pytest.raises(UnsupportedMediaType):
        image_to_digit(b"%PDF-1.7 not an image")


def test_an_empty_upload_is_refused() -> None:
    with pytest.raises(BadInput, match="empty"):
        image_to_digit(b"")


def test_a_truncated_png_is_refused_as_corrupt() -> None:
    data = (TESTDATA / "digit_3.png").read_bytes()
    with pytest.raises(BadInput, match="corrupt or truncated"):
        image_to_digit(data[: len(data) // 2])


def test_a_file_over_the_byte_limit_is_refused_before_decoding() -> None:
    with pytest.raises(PayloadTooLarge, match="byte limit"):
        image_to_digit((TESTDATA / "digit_3.png").read_bytes(), max_bytes=1000)


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    """A 5000x5000 PNG of zeros is 25 KB on the wire and 25 megapixels decoded."""
    width = height = 5_000
    raw = zlib.compress(b"".join(b"\x00" + bytes(width) for _ in range(height)), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
        )

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    assert len(bomb) < 100_000
    with pytest.raises(PayloadTooLarge, match="pixel"):
        image_to_digit(bomb)


def test_to_model_input_reshapes_to_the_manifest_layout() -> None:
    images = np.zeros((3, 8, 8), np.float32)
    assert to_model_input(images, Preprocessing(kind="digits-8x8", layout="NHWC")).shape == (
        3,
        8,
        8,
        1,
    )


def test_to_model_input_refuses_a_model_that_does_not_take_digits() -> None:
    with pytest.raises(BadInput, match="not a digit image"):
        to_model_input(np.zeros((1, 8, 8), np.float32), Preprocessing(kind="text"))
