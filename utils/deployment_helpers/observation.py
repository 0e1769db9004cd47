"""Per-request observation: one record per inference request, successes and refusals alike.

Every door of the data plane wraps its work in an :class:`Observation`. When the request
ends it becomes a :class:`RequestOutcome` (request id, model, version, status, latency,
client, the validated inputs and the outputs when there were any, the refusal message
when there was one), which goes to the Prometheus metrics (one meaning in every app:
``inference_requests_total`` counts every inference request by its final status) and to
the observers (the prediction log, drift windows, business metrics). Observers are called
on the request path: they must only enqueue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from utils.errors import ToolkitError

if TYPE_CHECKING:
    from utils.deployment_helpers.served_model import ServedModel
    from utils.deployment_helpers.tasks.base import Feed, Row
    from utils.monitoring.metrics import ServingMetrics

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class RequestContext:
    """Who asks, as the front end read it from HTTP (or a CLI)."""

    request_id: str
    client: str = "anonymous"
    """An API key's id (``key:<digest>``, never the key) or the client's address."""
    route: str = ""
    """Which door: ``v2``, ``predict``, ``upload``, ``similarity``..."""


@dataclass(slots=True)
class RequestOutcome:
    """What happened to one request: what observers receive."""

    context: RequestContext
    model: str
    version: str
    status: int
    latency_s: float
    started_at: float
    """Wall-clock time (``time.time()``) the request reached the data plane."""
    served: ServedModel | None = None
    feed: Feed | None = None
    """The validated inputs (None when the request was refused before validation)."""
    outputs: Feed | None = None
    answers: list[Row] | None = None
    """Task-level answers (labels, values...) when a plain-JSON door computed them."""
    error: str = ""
    """The refusal's message (what the client was told), "" on success."""


Observer = Callable[[RequestOutcome], None]


@dataclass(slots=True)
class Observation:
    """Context manager around one request's work; see the module docstring.

    Set ``served`` once the model is known (label values stay bounded: ``"unknown"``
    until then, never user text), and ``feed``/``outputs``/``answers`` as they come. A
    ToolkitError counts as its HTTP status, any other exception as 500, a normal exit (or
    a cancellation: the client went away) as 200. A class, not a generator: hot path.
    """

    metrics: ServingMetrics
    observers: list[Observer]
    context: RequestContext
    served: ServedModel | None = None
    feed: Feed | None = None
    outputs: Feed | None = None
    answers: list[Row] | None = None
    started: float = 0.0
    started_at: float = 0.0
    inference_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __enter__(self) -> Observation:
        self.started = time.perf_counter()
        self.started_at = time.time()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        error = ""
        if exc is None:
            status = 200
        elif isinstance(exc, ToolkitError):
            status, error = int(exc.status), exc.message
        elif isinstance(exc, Exception):
            status, error = 500, "internal server error"
        else:  # cancelled (the client went away): nothing was refused or failed
            status = 200
        latency = time.perf_counter() - self.started
        served = self.served
        model = served.name if served is not None else "unknown"
        version = str(served.version) if served is not None else "unknown"
        self.metrics.observe_request(model, version, status, latency)
        if not self.observers:
            return
        outcome = RequestOutcome(
            self.context,
            model,
            version,
            status,
            latency,
            self.started_at,
            served,
            self.feed,
            self.outputs,
            self.answers,
            error,
        )
        for observer in self.observers:
            try:
                observer(outcome)
            except Exception:  # an observer's bug must not fail the request it watches
                logger.exception("request observer failed")
