"""Labelled anomalies injected into a clean series: the ground truth detectors are scored on.

Five kinds, each placed as separate events in its own copy of the series (so precision
per kind means something: every flag in that copy is either inside one of that kind's
events or a false alarm). Magnitudes are a few times the series' week-to-week noise
(residual std about 0.4 ppm), the size a person would call a fault, not a wiggle.

Scoring is by event: an event is found when at least one of its points is flagged
(recall); a flag is right when it falls inside an event (precision). A detector judging
each newest point from the weeks before it cannot be asked to flag every point of a
12-week level shift: once the shifted weeks are its context, they are its new normal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
from numpy.typing import NDArray

from utils.use_cases.series import Series


class Kind(StrEnum):
    """The anomaly kinds of the issue."""

    SPIKE = "spike"
    DIP = "dip"
    LEVEL_SHIFT = "level_shift"
    STUCK = "stuck_sensor"
    NOISE = "noise_burst"


LENGTH_WEEKS: Final[dict[Kind, int]] = {
    Kind.SPIKE: 1,
    Kind.DIP: 1,
    Kind.LEVEL_SHIFT: 12,
    Kind.STUCK: 8,
    Kind.NOISE: 6,
}
EVENT_SPACING_WEEKS: Final[int] = 20
"""Events start this far apart (plus jitter), so no event sits in another's context."""


@dataclass(frozen=True)
class Event:
    """One injected anomaly: ``values[start:stop]`` are its labelled points."""

    kind: Kind
    start: int
    stop: int


def _apply(values: Series, kind: Kind, start: int, rng: np.random.Generator) -> int:
    """Inject one event in place; return the end (exclusive) of its labelled points."""
    length = LENGTH_WEEKS[kind]
    sign = 1.0 if rng.random() < 0.5 else -1.0
    if kind is Kind.SPIKE:
        values[start] += rng.uniform(1.5, 4.0)
    elif kind is Kind.DIP:
        values[start] -= rng.uniform(1.5, 4.0)
    elif kind is Kind.LEVEL_SHIFT:
        values[start : start + length] += sign * rng.uniform(1.5, 3.0)
        return start + length + 1  # the return to the true level is a jump too
    elif kind is Kind.STUCK:
        values[start : start + length] = values[start - 1]
        return start + length + 1  # so is the jump when the sensor comes unstuck
    else:
        values[start : start + length] += rng.normal(0.0, 1.2, size=length)
    return start + length


def inject(
    clean: Series, kind: Kind, *, first: int, last: int, seed: int
) -> tuple[Series, list[Event]]:
    """A copy of ``clean`` with events of ``kind`` every ~20 weeks inside [first, last)."""
    rng = np.random.default_rng(seed)
    values = clean.astype(np.float32).copy()
    events = []
    start = first + int(rng.integers(2, 8))
    while start + LENGTH_WEEKS[kind] + 1 < last:
        stop = _apply(values, kind, start, rng)
        events.append(Event(kind, start, stop))
        start += EVENT_SPACING_WEEKS + int(rng.integers(0, 6))
    return values, events


@dataclass(frozen=True)
class DetectionScore:
    """Event-level recall, point-level precision, and their F1, for one kind."""

    events: int
    found: int
    flags: int
    right_flags: int

    @property
    def recall(self) -> float:
        return self.found / self.events if self.events else 0.0

    @property
    def precision(self) -> float:
        return self.right_flags / self.flags if self.flags else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, float]:
        """JSON-ready, with the derived figures."""
        return {
            "events": self.events,
            "found": self.found,
            "flags": self.flags,
            "right_flags": self.right_flags,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }

    def __add__(self, other: DetectionScore) -> DetectionScore:
        return DetectionScore(
            self.events + other.events,
            self.found + other.found,
            self.flags + other.flags,
            self.right_flags + other.right_flags,
        )


def score_flags(flags: NDArray[np.bool_], events: list[Event], offset: int) -> DetectionScore:
    """Score ``flags`` (one per point, the first for index ``offset``) against ``events``."""
    labelled = np.zeros(len(flags), dtype=bool)
    found = 0
    for event in events:
        span = slice(event.start - offset, event.stop - offset)
        labelled[span] = True
        found += bool(flags[span].any())
    return DetectionScore(
        events=len(events),
        found=found,
        flags=int(flags.sum()),
        right_flags=int((flags & labelled).sum()),
    )
