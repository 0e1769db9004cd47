"""ObservedRequest: each inference request is counted once, under its final status."""

from __future__ import annotations

import pytest

from utils.errors import ModelNotFound
from utils.monitoring.metrics import ObservedRequest, ServingMetrics


def _count(metrics: ServingMetrics, model: str, version: str, status: str) -> float | None:
    return metrics.registry.get_sample_value(
        "inference_requests_total", {"model": model, "version": version, "status": status}
    )


def test_a_request_that_completes_is_counted_as_200_under_its_model() -> None:
    metrics = ServingMetrics()
    with ObservedRequest(metrics) as observed:
        observed.model, observed.version = "digits", "2"
    assert _count(metrics, "digits", "2", "200") == 1.0


def test_a_refusal_before_the_model_is_known_is_counted_as_unknown_with_its_status() -> None:
    metrics = ServingMetrics()
    with pytest.raises(ModelNotFound), ObservedRequest(metrics):
        raise ModelNotFound("no model 'x'")
    assert _count(metrics, "unknown", "unknown", "404") == 1.0


def test_an_unexpected_error_is_counted_as_500() -> None:
    metrics = ServingMetrics()
    with pytest.raises(RuntimeError), ObservedRequest(metrics) as observed:
        observed.model, observed.version = "digits", "1"
        raise RuntimeError("boom")
    assert _count(metrics, "digits", "1", "500") == 1.0
