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
from utils.preprocessing import image_to_digit, ink_to_digit, to_model_input
from utils.vision.strokes import Writer, canvas_png, evaluation_set, glyph_strokes, render_strokes

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


def _drawn(
    label: int, thickness: float, *, scale: float = 1.0, centre: float = 140.0
) -> np.ndarray:
    """A digit drawn with fixed strokes (seeded), at a pen width, size and place."""
    writer = Writer(name="fixed", thickness=(thickness, thickness), aspect=(0.6, 0.6))
    strokes, pen = glyph_strokes(label, writer, np.random.default_rng(5), height_px=180.0)
    return render_strokes([s * scale + centre for s in strokes], pen * scale, (280, 280))


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(ink_to_digit(a) - ink_to_digit(b)).mean())


@pytest.mark.parametrize("thickness", [6.0, 36.0])
def test_a_thin_or_thick_pen_stays_much_closer_to_its_digit_than_to_other_digits(
    thickness: float,
) -> None:
    reference = _drawn(2, 20.0)
    same = _distance(_drawn(2, thickness), reference)
    others = [_distance(_drawn(d, thickness), reference) for d in (1, 3, 7, 8)]
    assert same < 0.5 * min(others)


def test_a_drawing_covers_about_the_datasets_share_of_ink() -> None:
    for thickness in (4.0, 20.0, 40.0):
        assert 0.25 <= ink_to_digit(_drawn(3, thickness)).mean() <= 0.37  # dataset: 0.30-0.32


def test_a_small_digit_in_a_corner_gives_the_8x8_of_a_large_centred_one() -> None:
    small = _drawn(5, 20.0, scale=0.35, centre=60.0)
    assert _distance(small, _drawn(5, 20.0)) < 0.05


@pytest.mark.parametrize("name", DEMO_MODELS)
def test_every_demo_model_reads_at_least_95_percent_of_held_out_drawings(name: str) -> None:
    """The page's path (canvas PNG -> image_to_digit -> model) on 10 drawings per digit by
    the benchmark's writers (evaluation stream: never trained on)."""
    drawn = [d for ds in evaluation_set(20, seed=11).values() for d in ds]
    predicted = [_predict(name, image_to_digit(canvas_png(d))) for d in drawn]
    assert np.mean([p == d.label for p, d in zip(predicted, drawn, strict=True)]) >= 0.95
