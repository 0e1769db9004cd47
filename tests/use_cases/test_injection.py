"""The labelled anomalies the detectors are scored on, and how a detector is scored."""

from __future__ import annotations

import numpy as np
import pytest

from utils.use_cases.injection import Event, Kind, inject, score_flags


@pytest.mark.parametrize("kind", list(Kind))
def test_injection_changes_only_the_labelled_points_inside_the_period(kind: Kind) -> None:
    clean = np.linspace(300.0, 320.0, 400).astype(np.float32)
    values, events = inject(clean, kind, first=200, last=304, seed=3)
    labelled = np.zeros(len(clean), dtype=bool)
    for event in events:
        labelled[event.start : event.stop] = True
    assert len(events) >= 4 and all(e.start >= 200 and e.stop <= 304 for e in events)
    assert np.array_equal(values[~labelled], clean[~labelled])


def test_a_stuck_sensor_repeats_the_value_before_it() -> None:
    clean = np.linspace(300.0, 320.0, 400).astype(np.float32)
    values, events = inject(clean, Kind.STUCK, first=200, last=304, seed=3)
    first = events[0]
    assert np.all(values[first.start : first.stop - 1] == clean[first.start - 1])


def test_an_event_counts_once_and_a_flag_outside_every_event_is_a_false_alarm() -> None:
    events = [Event(Kind.LEVEL_SHIFT, 10, 14), Event(Kind.LEVEL_SHIFT, 30, 34)]
    flags = np.zeros(50, dtype=bool)
    flags[[11, 12, 40]] = True
    score = score_flags(flags, events, offset=0)
    assert (score.recall, score.precision) == (0.5, pytest.approx(2 / 3))
