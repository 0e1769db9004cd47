"""Write the sample digit photos in this folder (digit_<d>.png and digit_<d>.jpg).

How they were made, so anyone can rebuild or extend them: for each class, the first
held-out digit (utils/digits.py split) that all three demo models classify right after the
round trip through utils.preprocessing. The 8x8 image is upscaled to 80x80 (bilinear,
so strokes have soft edges like a pen), drawn dark (ink level 40) on light-grey paper
(level 235, seeded noise) in a 128x112 frame, off centre, like a phone photo.

Run: python tests/testdata/make_digit_images.py
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import onnxruntime as ort
from PIL import Image

from utils.deployment_helpers.manifest import read_manifest
from utils.digits import load_split
from utils.paths import DEFAULT_MODEL_REPOSITORY, TESTDATA
from utils.preprocessing import image_to_digit, to_model_input

MODELS = ("digits_torch", "digits_keras", "digits_sklearn")


def photo(image: np.ndarray, rng: np.random.Generator) -> Image.Image:
    ink = Image.fromarray((image * 255).astype(np.uint8)).resize((80, 80), Image.BILINEAR)
    paper = np.full((112, 128), 235.0) + rng.normal(0, 4, (112, 128))
    alpha = np.asarray(ink, dtype=np.float64) / 255.0
    top, left = 14, 30
    region = paper[top : top + 80, left : left + 80]
    paper[top : top + 80, left : left + 80] = region * (1 - alpha) + 40.0 * alpha
    return Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8))


def predict(data: bytes) -> list[int]:
    digit = image_to_digit(data)
    labels = []
    for name in MODELS:
        manifest = read_manifest(DEFAULT_MODEL_REPOSITORY / name)
        session = ort.InferenceSession(
            str(DEFAULT_MODEL_REPOSITORY / name / "1" / "model.onnx"),
            providers=["CPUExecutionProvider"],
        )
        x = to_model_input(digit[np.newaxis], manifest.preprocessing)
        outputs = dict(
            zip(
                [o.name for o in session.get_outputs()],
                session.run(None, {"input": x}),
                strict=True,
            )
        )
        labels.append(int(np.argmax(outputs[manifest.scores_output])))
    return labels


def main(argv: list[str] | None = None) -> None:
    import argparse

    argparse.ArgumentParser(
        description="Rewrite tests/testdata/digit_<d>.png/.jpg from the digits test split."
    ).parse_args(argv)
    split = load_split()
    rng = np.random.default_rng(0)
    for digit in range(10):
        for index in np.flatnonzero(split.y_test == digit):
            image = photo(split.x_test[index], rng)
            ok = True
            for fmt in ("PNG", "JPEG"):
                buffer = io.BytesIO()
                image.save(buffer, fmt, quality=90)
                ok = ok and predict(buffer.getvalue()) == [digit] * len(MODELS)
            if ok:
                image.save(TESTDATA / f"digit_{digit}.png")
                image.save(TESTDATA / f"digit_{digit}.jpg", quality=90)
                print(f"digit {digit}: test sample {index}")
                break


if __name__ == "__main__":
    main()
