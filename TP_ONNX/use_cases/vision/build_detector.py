"""Train the digit detector on drawn numbers and publish it as models/digits_detector.

A small fully convolutional network (CenterNet-like, ~50 K parameters) trained here on
synthetic numbers (utils/vision/compose.py: 3 to 5 drawn digits, uneven gaps and
heights, canvases of varied size; no download). It answers a fixed-shape grid per image
(heatmap, boxes, classes: see utils/vision/detection.py), converted to ONNX with the
project's converter (parity-checked against torch), scored on held-out numbers drawn by
the evaluation writers, and published as version 1 of ``digits_detector`` (rebuilt from
scratch; other models are left alone).

Run: python TP_ONNX/use_cases/vision/build_detector.py [--numbers 6000] [--epochs 6]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # run from anywhere

import numpy as np
from numpy.typing import NDArray

from utils.conversion import ConversionOptions, convert_model
from utils.deployment_helpers.manifest import Postprocessing, Preprocessing
from utils.deployment_helpers.publishing import publish_version
from utils.digits import LABELS
from utils.errors import ToolkitError
from utils.paths import DEFAULT_MODEL_REPOSITORY
from utils.vision.compose import Composition, held_out_numbers, training_numbers
from utils.vision.detection import (
    DEFAULT_IOU_THRESHOLD,
    DEFAULT_THRESHOLD,
    DETECTOR_INPUT,
    OUTPUTS,
    STRIDE,
    ink_to_detector_input,
    letterbox,
)
from utils.vision.evaluation import score_detector
from utils.vision.training_data import as_png_levels

NAME = "digits_detector"
SEED = 0
BATCH = 32
LEARNING_RATE = 3e-3
BASE_SIZE = 32.0
"""Box sizes are predicted as log(size / 32 px)."""
CLASS_CELLS = 0.6
"""Box and class are learnt at every cell whose target heat is at least this (the centre
and its nearest neighbours), so a peak one cell off still reads the right digit."""
VALIDATION_NUMBERS = 300


def targets(
    numbers: list[Composition],
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], NDArray[np.int64]]:
    """Inputs [N,1,H,W], heat [N,1,h,w], box targets [N,4,h,w] (offset x/y in cells, log
    size w/h) and classes [N,h,w] (-1 where no digit is learnt)."""
    height, width = DETECTOR_INPUT
    rows, cols = height // STRIDE, width // STRIDE
    count = len(numbers)
    x = np.zeros((count, 1, height, width), np.float32)
    heat = np.zeros((count, 1, rows, cols), np.float32)
    box = np.zeros((count, 4, rows, cols), np.float32)
    cls = np.full((count, rows, cols), -1, np.int64)
    grid_y, grid_x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    for n, number in enumerate(numbers):
        ink = as_png_levels(number.alpha)
        x[n] = ink_to_detector_input(ink)
        fit = letterbox(ink.shape, DETECTOR_INPUT)  # type: ignore[arg-type]
        for label, (x0, y0, x1, y1) in zip(number.labels, number.boxes, strict=True):
            bx0, bx1 = x0 * fit.scale + fit.pad_x, x1 * fit.scale + fit.pad_x
            by0, by1 = y0 * fit.scale + fit.pad_y, y1 * fit.scale + fit.pad_y
            cx, cy = (bx0 + bx1) / 2 / STRIDE, (by0 + by1) / 2 / STRIDE
            w, h = bx1 - bx0, by1 - by0
            sx, sy = w / STRIDE / 6 + 0.3, h / STRIDE / 6 + 0.3
            cell_x, cell_y = min(int(cx), cols - 1), min(int(cy), rows - 1)
            g = np.exp(
                -((grid_x - cell_x) ** 2) / (2 * sx**2) - ((grid_y - cell_y) ** 2) / (2 * sy**2)
            )
            near = g >= CLASS_CELLS
            closer = near & (g >= heat[n, 0])
            box[n, 0][closer] = cx - grid_x[closer]
            box[n, 1][closer] = cy - grid_y[closer]
            box[n, 2][closer] = np.log(w / BASE_SIZE)
            box[n, 3][closer] = np.log(h / BASE_SIZE)
            cls[n][closer] = label
            heat[n, 0] = np.maximum(heat[n, 0], g)
    return x, heat, box, cls


def build_network() -> Any:
    """The detector: stride-4 features, dilated context, three 1x1 heads."""
    import torch
    from torch import nn

    def conv(cin: int, cout: int, *, stride: int = 1, dilation: int = 1) -> list[nn.Module]:
        return [
            nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
        ]

    class Detector(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                *conv(1, 16, stride=2),
                *conv(16, 32, stride=2),
                *conv(32, 32),
                *conv(32, 32, dilation=2),
                *conv(32, 32, dilation=4),
                *conv(32, 32, dilation=8),
                *conv(32, 32),
            )
            self.heat = nn.Conv2d(32, 1, 1)
            self.box = nn.Conv2d(32, 4, 1)
            self.cls = nn.Conv2d(32, len(LABELS), 1)
            nn.init.constant_(self.heat.bias, -2.2)  # start near 0.1 everywhere
            rows, cols = DETECTOR_INPUT[0] // STRIDE, DETECTOR_INPUT[1] // STRIDE
            gy, gx = torch.meshgrid(
                torch.arange(rows, dtype=torch.float32),
                torch.arange(cols, dtype=torch.float32),
                indexing="ij",
            )
            self.register_buffer("grid", torch.stack([gx, gy])[None])

        def raw(self, x: Any) -> tuple[Any, Any, Any]:
            features = self.body(x)
            return self.heat(features), self.box(features), self.cls(features)

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            heat, box, cls = self.raw(x)
            centre = (self.grid + box[:, :2]) * STRIDE
            size = torch.exp(box[:, 2:].clamp(-4.0, 4.0)) * BASE_SIZE
            return torch.sigmoid(heat), torch.cat([centre, size], 1), torch.softmax(cls, 1)

    return Detector()


def train(
    data: tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], NDArray[np.int64]],
    epochs: int,
) -> Any:
    """Focal loss on the heatmap, L1 on boxes and cross-entropy on classes near centres."""
    import torch
    from torch import nn

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    model = build_network()
    x, heat, box, cls = (torch.from_numpy(a) for a in data)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=1e-4)
    steps = epochs * -(-len(x) // BATCH)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LEARNING_RATE, total_steps=steps)
    generator = torch.Generator().manual_seed(SEED)
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for idx in torch.randperm(len(x), generator=generator).split(BATCH):
            heat_logit, box_raw, cls_logit = model.raw(x[idx])
            target = heat[idx]
            p = torch.sigmoid(heat_logit).clamp(1e-4, 1 - 1e-4)
            positive = (target >= 0.999).float()
            focal = -(
                positive * (1 - p) ** 2 * torch.log(p)
                + (1 - positive) * (1 - target) ** 4 * p**2 * torch.log(1 - p)
            ).sum() / positive.sum().clamp(min=1)
            learnt = (cls[idx] >= 0).float()
            box_loss = ((box_raw - box[idx]).abs().sum(1) * learnt).sum() / learnt.sum().clamp(
                min=1
            )
            cls_loss = nn.functional.cross_entropy(cls_logit, cls[idx], ignore_index=-1)
            loss = focal + box_loss + cls_loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(idx)
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(x):.3f}", flush=True)
    return model.eval()


def build(repository: Path, count: int, epochs: int, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    started = time.perf_counter()
    numbers = list(training_numbers(count, seed=SEED))
    data = targets(numbers)
    print(f"drew {count} numbers in {time.perf_counter() - started:.0f} s", flush=True)
    model = train(data, epochs)
    print(f"trained in {time.perf_counter() - started:.0f} s", flush=True)
    repository.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=repository) as tmp_name:
        staging = Path(tmp_name)
        report = convert_model(
            model,
            staging / f"{NAME}.onnx",
            ConversionOptions(
                input_shape=(1, *DETECTOR_INPUT),
                output_names=OUTPUTS,
                samples=data[0][:64],
                labels=LABELS,
                name=NAME,
                description="Digit detector: heatmap, boxes and classes on a 16x48 grid",
                reference_profile={},
            ),
        )
        template = report.manifest.model_copy(
            update={
                "task": "detection",
                "scores_output": "classes",
                "scores_kind": "probabilities",
                "labels": list(LABELS),
                "preprocessing": Preprocessing(
                    kind="image", layout="NCHW", image_size=list(DETECTOR_INPUT)
                ),
                "postprocessing": Postprocessing(
                    threshold=DEFAULT_THRESHOLD, iou_threshold=DEFAULT_IOU_THRESHOLD
                ),
                "reference_profile": None,
                "versions": {},
            }
        )
        held_out = list(held_out_numbers(VALIDATION_NUMBERS, seed=SEED))
        score = score_detector(report.output, template, held_out)
        info = report.manifest.versions["1"].model_copy(
            update={
                "metrics": {
                    "precision": round(score.precision(), 6),
                    "recall": round(score.recall(), 6),
                    "number_accuracy": round(score.number_accuracy(), 6),
                },
                "details": {
                    **report.manifest.versions["1"].details,
                    "training_numbers": count,
                    "epochs": epochs,
                    "held_out_numbers": VALIDATION_NUMBERS,
                },
            }
        )
        publish_version(report.output, staging / "repo", template, info)
        target = repository / NAME
        old = repository / f".{NAME}.old"
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        (staging / "repo" / NAME).rename(target)
        shutil.rmtree(old, ignore_errors=True)
    diff = max(report.parity.max_abs_diff.values(), default=0.0)
    print(
        f"{NAME}: {report.size_bytes / 1024:.0f} KB, parity max|diff| {diff:.1e}; held-out "
        f"numbers: precision {score.precision():.3f} recall {score.recall():.3f} "
        f"read exactly {score.number_accuracy():.3f}"
    )
    print(f"published {target}/1 in {time.perf_counter() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repository", type=Path, default=DEFAULT_MODEL_REPOSITORY)
    parser.add_argument("--numbers", type=int, default=6000, help="training numbers")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args(argv)
    try:
        build(args.repository.resolve(), args.numbers, args.epochs, args.threads)
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
