"""Digits drawn as pen strokes, the way a person draws them on the page's canvas.

The demo models learnt from scikit-learn's digits (UCI optdigits: pen on paper, scanned,
normalised by NIST's programs). People draw on a 280x280 canvas with a mouse or a finger:
thick or thin round strokes, slanted, small or large, anywhere on the pad, with a shaky
hand. This module draws such digits, so the gap can be measured and trained across:

- a **glyph** is a digit's skeleton: strokes of points in a unit box (x right, y down),
  with the common ways of writing it (a 1 with or without a flag, an open or closed 4,
  a 7 with or without a bar ...), its proportions varied per drawing;
- a :class:`Writer` is a style: ranges of stroke thickness, slant, size, position,
  aspect, rotation and jitter; :data:`EVALUATION_WRITERS` are the named styles the
  benchmark reports on, :data:`TRAINING_WRITER` one broad style that training draws from;
- :func:`draw_digit` renders one digit as a person's canvas would (opaque round strokes
  on a transparent background, anti-aliased by 2x supersampling) and returns the opacity
  image; :func:`canvas_png` gives the PNG the page posts.

Evaluation drawings are kept apart from training drawings in two ways: their random
streams are disjoint (``numpy.random.SeedSequence`` spawn keys: training uses key 1,
evaluation key 2, so no drawing can repeat), and the evaluation writers are fixed,
named styles whose parameter draws never come from the training writer's stream.

Pillow and numpy only, seeded and deterministic: the same seed gives the same pixels.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

CANVAS_SIZE: Final[int] = 280
"""The page's drawing pad is 280x280 pixels."""

INK_RGB: Final[tuple[int, int, int]] = (17, 24, 39)
"""The page's stroke colour (#111827)."""

SUPERSAMPLE: Final[int] = 2
"""Strokes are drawn at twice the size then box-averaged down: a browser canvas
anti-aliases its lines, Pillow's ImageDraw does not."""

TRAIN_STREAM: Final[int] = 1
EVAL_STREAM: Final[int] = 2
"""Spawn keys of the two disjoint random streams (see the module docstring)."""

Stroke = NDArray[np.float64]
"""[P, 2] points (x, y) of one pen-down movement."""

Glyph = list[Stroke]


@dataclass(frozen=True)
class Writer:
    """A drawing style: each field is a (low, high) range drawn uniformly per digit."""

    name: str
    thickness: tuple[float, float] = (14.0, 32.0)
    """Pen width in canvas pixels (the page draws 28)."""
    height: tuple[float, float] = (0.55, 0.85)
    """Digit height as a share of the canvas height."""
    slant: tuple[float, float] = (-0.15, 0.3)
    """Horizontal shear: x moves by ``slant * (0.5 - y)`` heights (positive leans right)."""
    aspect: tuple[float, float] = (0.5, 0.8)
    """Width of the glyph's box as a share of its height."""
    rotation_deg: tuple[float, float] = (-6.0, 6.0)
    jitter: tuple[float, float] = (0.0, 0.03)
    """Wobble of the hand, as a share of the digit's height (smooth, low frequency)."""
    tremor: float = 0.004
    """Point-to-point noise of a mouse, as a share of the digit's height."""
    offset: tuple[float, float] = (0.0, 0.12)
    """How far the digit's centre lies from the canvas centre, as a share of the canvas."""


TRAINING_WRITER: Final[Writer] = Writer(
    name="training",
    thickness=(5.0, 42.0),
    height=(0.25, 0.95),
    slant=(-0.3, 0.45),
    aspect=(0.4, 0.95),
    rotation_deg=(-12.0, 12.0),
    jitter=(0.0, 0.05),
    tremor=0.006,
    offset=(0.0, 0.3),
)
"""One broad style covering (and exceeding) every evaluation style's ranges."""

EVALUATION_WRITERS: Final[tuple[Writer, ...]] = (
    Writer(name="page", thickness=(28.0, 28.0), height=(0.55, 0.8), offset=(0.0, 0.08)),
    Writer(name="thin-mouse", thickness=(6.0, 10.0), jitter=(0.01, 0.035), tremor=0.008),
    Writer(name="thick-finger", thickness=(34.0, 40.0), height=(0.6, 0.9), jitter=(0.0, 0.02)),
    Writer(name="slanted", slant=(0.25, 0.4), rotation_deg=(-10.0, 0.0)),
    Writer(name="small-off-centre", height=(0.3, 0.45), offset=(0.15, 0.25)),
    Writer(name="wide", aspect=(0.75, 0.95), thickness=(16.0, 26.0)),
)
"""The named styles the benchmark reports on (a person with a mouse, with a finger ...)."""


def _arc(cx: float, cy: float, rx: float, ry: float, start_deg: float, end_deg: float) -> Stroke:
    """Points on an ellipse from ``start`` to ``end`` degrees (0 right, 90 down: y is down)."""
    count = max(8, int(abs(end_deg - start_deg) / 8))
    theta = np.radians(np.linspace(start_deg, end_deg, count))
    return np.stack([cx + rx * np.cos(theta), cy + ry * np.sin(theta)], axis=1)


def _line(*points: tuple[float, float]) -> Stroke:
    return np.asarray(points, dtype=np.float64)


def _join(*parts: Stroke) -> Stroke:
    return np.concatenate(parts, axis=0)


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _zero(rng: np.random.Generator) -> Glyph:
    squash = _u(rng, 0.45, 0.5)
    start = _u(rng, -110, -60)
    return [_arc(0.5, 0.5, 0.5, squash * 1.0, start, start - _u(rng, 350, 385))]


def _one(rng: np.random.Generator) -> Glyph:
    style = rng.integers(3)
    x = _u(rng, 0.45, 0.6)
    stem = _line((x, 0.0), (x, 1.0))
    if style == 0:
        return [stem]
    flag = _line((x - _u(rng, 0.2, 0.4), _u(rng, 0.15, 0.35)), (x, 0.0), (x, 1.0))
    if style == 1:
        return [flag]
    return [flag, _line((x - _u(rng, 0.2, 0.35), 1.0), (x + _u(rng, 0.2, 0.35), 1.0))]


def _two(rng: np.random.Generator) -> Glyph:
    ry = _u(rng, 0.25, 0.33)
    top = _arc(0.5, ry, 0.48, ry, _u(rng, 185, 215), _u(rng, 370, 400))
    corner = (_u(rng, 0.0, 0.1), 1.0)
    return [_join(top, _line(corner, (_u(rng, 0.85, 1.0), _u(rng, 0.95, 1.0))))]


def _three(rng: np.random.Generator) -> Glyph:
    middle = _u(rng, 0.42, 0.55)
    if rng.random() < 0.25:  # flat top, a Z-like 3
        top = _line((0.05, 0.0), (0.95, 0.0), (0.4, middle))
    else:
        top = _arc(0.47, middle / 2, 0.45, middle / 2, _u(rng, 190, 215), 450)
    low_ry = (1.0 - middle) / 2
    bottom = _arc(0.47, middle + low_ry, 0.5, low_ry, 270, _u(rng, 490, 520))
    return [_join(top, bottom)]


def _four(rng: np.random.Generator) -> Glyph:
    bar = _u(rng, 0.55, 0.72)
    stem_x = _u(rng, 0.62, 0.78)
    if rng.random() < 0.5:  # closed: one diagonal
        first = _line((stem_x, 0.0), (0.0, bar), (1.0, bar))
    else:  # open: down, then across
        first = _line((_u(rng, 0.05, 0.25), 0.0), (0.05, bar), (1.0, bar))
    return [first, _line((stem_x, _u(rng, 0.0, 0.15)), (stem_x, 1.0))]


def _five(rng: np.random.Generator) -> Glyph:
    shoulder = _u(rng, 0.38, 0.5)
    ry = (1.0 - shoulder) / 2 + 0.04
    cy = 1.0 - ry
    bowl = _arc(0.45, cy, 0.5, ry, 235, _u(rng, 500, 525))
    start = bowl[0]
    down = _line((_u(rng, 0.1, 0.2), 0.0), (float(start[0]), float(start[1])))
    cap = _line((_u(rng, 0.15, 0.2), 0.0), (_u(rng, 0.85, 1.0), _u(rng, -0.03, 0.03)))
    if rng.random() < 0.5:  # in one go: the cap first, then down and round
        return [_join(cap[::-1], down[1:], bowl)]
    return [_join(down, bowl), cap]


def _six(rng: np.random.Generator) -> Glyph:
    ry = _u(rng, 0.25, 0.32)
    cy = 1.0 - ry
    descent = _line((_u(rng, 0.7, 0.9), 0.0), (0.3, _u(rng, 0.2, 0.3)), (0.02, cy))
    loop = _arc(0.5, cy, 0.48, ry, 180, _u(rng, -190, -150))
    return [_join(descent, loop)]


def _seven(rng: np.random.Generator) -> Glyph:
    foot = _u(rng, 0.2, 0.45)
    main = _line((0.0, _u(rng, 0.0, 0.08)), (1.0, 0.0), (foot, 1.0))
    if rng.random() < 0.3:
        y = _u(rng, 0.45, 0.55)
        return [main, _line((foot + 0.15, y), (foot + 0.7, y))]
    return [main]


def _eight(rng: np.random.Generator) -> Glyph:
    waist = _u(rng, 0.42, 0.5)
    top_rx, low_rx = _u(rng, 0.32, 0.42), _u(rng, 0.42, 0.5)
    if rng.random() < 0.3:  # two stacked loops
        return [
            _arc(0.5, waist / 2, top_rx, waist / 2, -90, -450),
            _arc(0.5, waist + (1 - waist) / 2, low_rx, (1 - waist) / 2, -90, 270),
        ]
    top = _arc(0.5, waist / 2, top_rx, waist / 2, -20, -270)
    bottom = _arc(0.5, waist + (1 - waist) / 2, low_rx, (1 - waist) / 2, -90, 180)
    return [_join(top, bottom, _line((0.5 + top_rx * 0.94, waist / 2 - 0.1)))]


def _nine(rng: np.random.Generator) -> Glyph:
    ry = _u(rng, 0.22, 0.3)
    rx = _u(rng, 0.4, 0.5)
    loop = _arc(0.5, ry, rx, ry, 10, -350)
    end = loop[-1]
    if rng.random() < 0.5:
        tail = _line((float(end[0]), float(end[1])), (float(end[0]) - _u(rng, 0.0, 0.1), 1.0))
    else:
        tail = _line((float(end[0]), float(end[1])), (0.85, 0.75), (0.4, 1.0))
    return [_join(loop, tail)]


GLYPHS: Final[tuple[Callable[[np.random.Generator], Glyph], ...]] = (
    _zero,
    _one,
    _two,
    _three,
    _four,
    _five,
    _six,
    _seven,
    _eight,
    _nine,
)
"""One glyph factory per digit; each call varies the digit's way of writing and proportions."""


def _resample(stroke: Stroke, spacing: float) -> Stroke:
    """Points every ``spacing`` along the stroke (a mouse reports positions, not curves)."""
    if len(stroke) < 2:
        return stroke
    steps = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
    distance = np.concatenate([[0.0], np.cumsum(steps)])
    total = float(distance[-1])
    if total == 0.0:
        return stroke[:1]
    at = np.linspace(0.0, total, max(2, int(total / spacing) + 1))
    return np.stack([np.interp(at, distance, stroke[:, i]) for i in range(2)], axis=1)


def _wobble(points: Stroke, amplitude: float, rng: np.random.Generator) -> Stroke:
    """Smooth, low-frequency displacement: two random sinusoids per axis along the path."""
    t = np.linspace(0.0, 1.0, len(points))[:, np.newaxis]
    shift = np.zeros_like(points)
    for _ in range(2):
        frequency = rng.uniform(0.5, 2.0)
        phase = rng.uniform(0.0, 2 * math.pi, size=2)
        shift += rng.normal(0.0, amplitude, size=2) * np.sin(2 * math.pi * frequency * t + phase)
    return points + shift


@dataclass(frozen=True)
class Drawing:
    """One rendered digit: opacity in [0, 1] ([H, W] float32) and its ink box in pixels."""

    label: int
    alpha: NDArray[np.float32]
    box: tuple[float, float, float, float]
    """x0, y0, x1, y1 of the strokes' extent, pen width included."""


def glyph_strokes(
    label: int, writer: Writer, rng: np.random.Generator, *, height_px: float
) -> tuple[list[Stroke], float]:
    """The strokes of one digit in pixels, centred on (0, 0), and the pen width.

    Shape, proportions, slant, rotation and hand wobble come from ``writer``'s ranges.
    """
    glyph = GLYPHS[label](rng)
    aspect = _u(rng, *writer.aspect)
    slant = _u(rng, *writer.slant)
    angle = math.radians(_u(rng, *writer.rotation_deg))
    jitter = _u(rng, *writer.jitter)
    cos, sin = math.cos(angle), math.sin(angle)
    strokes = []
    for stroke in glyph:
        points = _resample(stroke, 0.02)
        points = _wobble(points, jitter, rng)
        points = points + rng.normal(0.0, writer.tremor, size=points.shape)
        x = (points[:, 0] - 0.5) * aspect + slant * (0.5 - points[:, 1])
        y = points[:, 1] - 0.5
        rotated = np.stack([x * cos - y * sin, x * sin + y * cos], axis=1)
        strokes.append(rotated * height_px)
    thickness = _u(rng, *writer.thickness)
    return strokes, thickness


def render_strokes(
    strokes: list[Stroke], thickness: float, size: tuple[int, int]
) -> NDArray[np.float32]:
    """Draw round-capped strokes (points in pixels) on a transparent ``(width, height)``
    canvas and return the opacity, anti-aliased like a browser's canvas."""
    width, height = size
    scale = SUPERSAMPLE
    image = Image.new("L", (width * scale, height * scale), 0)
    draw = ImageDraw.Draw(image)
    pen = max(1, round(thickness * scale))
    radius = pen / 2
    for stroke in strokes:
        points = [(float(x) * scale, float(y) * scale) for x, y in stroke]
        if len(points) > 1:
            draw.line(points, fill=255, width=pen)
        # A disc at every point: round caps and round joins (``joint="curve"`` is 8x slower).
        for x, y in points:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    small = image.resize((width, height), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def draw_digit(
    label: int, writer: Writer, rng: np.random.Generator, *, canvas: int = CANVAS_SIZE
) -> Drawing:
    """Draw one digit on an empty ``canvas`` x ``canvas`` pad, in ``writer``'s style."""
    height_px = _u(rng, *writer.height) * canvas
    strokes, thickness = glyph_strokes(label, writer, rng, height_px=height_px)
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    centre = (low + high) / 2
    # Scale down a digit that a wide pen, slant or rotation pushed past the pad's edge.
    margin = thickness / 2 + 2
    extent = float((high - low).max()) + 2 * margin
    if extent > canvas:
        shrink = (canvas - 2 * margin) / float((high - low).max())
        strokes = [(s - centre) * shrink + centre for s in strokes]
        low, high = (low - centre) * shrink + centre, (high - centre) * shrink + centre
    distance = _u(rng, *writer.offset) * canvas
    direction = _u(rng, 0.0, 2 * math.pi)
    target = np.array([canvas / 2, canvas / 2]) + distance * np.array(
        [math.cos(direction), math.sin(direction)]
    )
    half = (high - low) / 2 + margin
    target = np.clip(target, half, canvas - half)
    shift = target - centre
    placed = [s + shift for s in strokes]
    alpha = render_strokes(placed, thickness, (canvas, canvas))
    x0, y0 = low + shift - thickness / 2
    x1, y1 = high + shift + thickness / 2
    return Drawing(label, alpha, (float(x0), float(y0), float(x1), float(y1)))


def to_png(alpha: NDArray[np.float32]) -> bytes:
    """Encode an opacity image as the page's canvas does: an RGBA PNG, ink colour
    #111827, transparent where nothing was drawn."""
    height, width = alpha.shape
    rgba = np.zeros((height, width, 4), dtype=np.uint8)
    rgba[..., :3] = INK_RGB
    rgba[..., 3] = np.clip(np.round(alpha * 255), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
    return buffer.getvalue()


def canvas_png(drawing: Drawing) -> bytes:
    """The PNG the page posts for this drawing."""
    return to_png(drawing.alpha)


def stream(seed: int, key: int) -> np.random.Generator:
    """A random generator of one of the disjoint streams (:data:`TRAIN_STREAM`, ...)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


def drawings(
    writer: Writer, count: int, rng: np.random.Generator, *, canvas: int = CANVAS_SIZE
) -> Iterator[Drawing]:
    """``count`` drawings by ``writer``, labels cycling 0..9 (balanced classes)."""
    for index in range(count):
        yield draw_digit(index % 10, writer, rng, canvas=canvas)


def evaluation_set(per_writer: int, *, seed: int = 0) -> dict[str, list[Drawing]]:
    """The benchmark's drawings: ``per_writer`` per evaluation style, from the
    evaluation stream (never the training one), one sub-stream per writer."""
    root = np.random.SeedSequence(seed, spawn_key=(EVAL_STREAM,))
    children = root.spawn(len(EVALUATION_WRITERS))
    return {
        writer.name: list(drawings(writer, per_writer, np.random.default_rng(child)))
        for writer, child in zip(EVALUATION_WRITERS, children, strict=True)
    }
