"""The prediction log: every request, written to a SQL database off the request path.

The request pays for one append to a bounded in-memory queue (measured: about 1 us, see
``docs/monitoring.md``); a background thread takes up to ``batch_size`` records at a
time, turns them into rows (input summaries, drift features) and inserts them in one
transaction. What happens when the queue is full is a setting, never a silent loss:
``drop`` (the default: serving never waits for the database) counts each lost record in
``prediction_log_dropped_total{reason="queue_full"}``; ``block`` makes the request wait for
room, up to ``block_timeout_s``, then drops and counts it.

Durability: ``fast`` (the default) acknowledges a record once queued, so a process killed
with SIGKILL loses what was still queued, at most ``queue_size`` records and in practice
about ``flush_interval_s`` of traffic (measured: ``docs/monitoring.md``). ``synchronous``
commits each record before :meth:`PredictionLog.record` returns (SQLite with
``synchronous=FULL``), so an answered request is in the log even if the process dies the
next instant; it costs a commit per request. :meth:`PredictionLog.close` writes every
accepted record before it returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from utils.errors import BadInput
from utils.monitoring import queries
from utils.monitoring.database import DEFAULT_URL, create_engine, migrate
from utils.monitoring.log_process import LogProcess, Shipment, shipment_rows
from utils.monitoring.records import (
    COLUMNS,
    Featurizer,
    PredictionRecord,
    feature_blobs,
    fields_of,
    input_columns,
    rows_of,
)
from utils.monitoring.schema import feedback, predictions

if TYPE_CHECKING:
    from utils.deployment_helpers.observation import RequestOutcome

log = logging.getLogger(__name__)

WRITE_ATTEMPTS: Final[int] = 3
FLUSH_TIMEOUT_S: Final[float] = 30.0
RETENTION_EVERY_S: Final[float] = 3600.0


class FullQueuePolicy(StrEnum):
    DROP = "drop"
    """Drop the record and count it in ``prediction_log_dropped_total``."""
    BLOCK = "block"
    """Make the request wait for room (up to ``block_timeout_s``, then drop and count)."""


class WriterPlacement(StrEnum):
    PROCESS = "process"
    """Rows are built and inserted by a child process (``log_process.py``): the serving
    process only decodes and packs each batch. Used when a packer is set (the apps'
    monitor, ``fast`` durability); otherwise the thread writes."""
    THREAD = "thread"
    """Rows are built and inserted by the writer thread of the serving process."""


class Durability(StrEnum):
    FAST = "fast"
    """Acknowledge once queued; a killed process loses the queue (bounded by its size)."""
    SYNCHRONOUS = "synchronous"
    """Commit before acknowledging; an acknowledged record survives the process."""


@dataclass(frozen=True, kw_only=True)
class PredictionLogConfig:
    """How the log writes; the apps fill it from their settings (``API_PREDICTION_LOG_*``)."""

    url: str = DEFAULT_URL
    """SQLAlchemy URL: ``sqlite:///path`` (WAL mode) or ``postgresql://user@host/db``."""
    queue_size: int = 10_000
    """Records waiting for the writer, at most (about 1 KB each)."""
    full_queue: FullQueuePolicy = FullQueuePolicy.DROP
    block_timeout_s: float = 1.0
    durability: Durability = Durability.FAST
    batch_size: int = 500
    """Records per insert transaction."""
    flush_interval_s: float = 0.2
    """The writer wakes at least this often; the bound on what SIGKILL can lose in time."""
    sample_rate: float = 1.0
    """Share of successful requests logged (refusals are always logged)."""
    retention_days: float | None = 30.0
    """Rows older than this are deleted (hourly, by the writer); None keeps everything."""
    keep_tensors: bool = False
    """Log the input tensors themselves instead of a summary (shape, mean, std, min, max)."""
    writer: WriterPlacement = WriterPlacement.PROCESS
    """Where rows are built and inserted in ``fast`` mode (see :class:`WriterPlacement`)."""

    def __post_init__(self) -> None:
        if self.queue_size < 1 or self.batch_size < 1:
            raise BadInput("queue_size and batch_size must be at least 1")
        if not 0.0 <= self.sample_rate <= 1.0:
            raise BadInput(f"sample_rate must be within [0, 1], not {self.sample_rate}")


def insert_statement(paramstyle: str) -> str:
    """The driver-level INSERT of one ``predictions`` row (``?`` for sqlite3, ``%s`` for
    psycopg); column names are quoted, ``row`` and ``time`` being keywords somewhere."""
    marker = "?" if paramstyle == "qmark" else "%s"
    names = ", ".join(f'"{c}"' for c in COLUMNS)
    return f"INSERT INTO predictions ({names}) VALUES ({', '.join([marker] * len(COLUMNS))})"


class _Flush:
    """A marker in the queue: set once every record before it is written."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class _QueueCollector(Collector):
    def __init__(self, owner: PredictionLog) -> None:
        self.owner = owner

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "prediction_log_queue_depth", "Records waiting for the prediction log's writer"
        )
        family.add_metric([], self.owner.queue_depth)
        yield family


class PredictionLog:
    """A per-process writer to the shared prediction log (thread-safe).

    ``PredictionLog(config, registry=..., featurizer=...)`` opens and migrates the
    database and starts the writer thread; :meth:`record` per request; :meth:`close` at
    shutdown. ``featurizer`` (from :class:`~utils.monitoring.monitor.DriftMonitor`) turns
    inputs into the drift features stored with each row, so that drift can be computed
    from every worker's traffic.
    """

    def __init__(
        self,
        config: PredictionLogConfig | None = None,
        *,
        registry: CollectorRegistry | None = None,
        featurizer: Featurizer | None = None,
        inline: bool = False,
    ) -> None:
        """``inline``: no writer thread, no migration, no retention: the log process's
        writer, which :meth:`write_records` is called on."""
        self.config = config or PredictionLogConfig()
        self.engine = create_engine(
            self.config.url, durable=self.config.durability is Durability.SYNCHRONOUS
        )
        if not inline:
            migrate(self.engine)
        self.featurizer = featurizer
        self.converter: Callable[[list[Any]], list[PredictionRecord]] | None = None
        """Turns queued outcomes into records in the writer (``ModelMonitor`` sets it)."""
        self.packer: Callable[[list[Any]], Shipment] | None = None
        """Packs queued outcomes for the log process (``ModelMonitor`` sets it): with it
        and ``writer="process"``, rows are built and inserted in a child process."""
        self._process: LogProcess | None = None
        self._process_failed = False
        self._insert = insert_statement(self.engine.dialect.paramstyle)
        registry = registry if registry is not None else CollectorRegistry()
        self._dropped = Counter(
            "prediction_log_dropped",
            "Records the prediction log could not keep, by reason",
            ["reason"],
            registry=registry,
        )
        self._written = Counter(
            "prediction_log_written", "Records written to the prediction log", registry=registry
        )
        self._sampled_out = Counter(
            "prediction_log_sampled_out",
            "Successful requests left out of the log by its sampling rate",
            registry=registry,
        )
        registry.register(_QueueCollector(self))
        self._dropped_full = self._dropped.labels("queue_full")
        self._dropped_closed = self._dropped.labels("closed")
        self._dropped_error = self._dropped.labels("write_error")
        self._queue: deque[PredictionRecord | RequestOutcome | _Flush] = deque()
        self._wake = threading.Event()
        self._room = threading.Condition()
        self._sample_credit = 0.0
        self._closed = False
        self._last_retention = 0.0
        self._thread: threading.Thread | None = None
        if inline:
            return
        if self.config.durability is Durability.FAST:
            self._thread = threading.Thread(
                target=self._run, name="prediction-log-writer", daemon=True
            )
            self._thread.start()
        else:
            self._apply_retention()

    # --- the request path -------------------------------------------------------------
    def record(self, record: PredictionRecord | RequestOutcome) -> bool:
        """Hand one request's record over; True when it was accepted (it will be written).

        A data plane outcome is accepted too when a :attr:`converter` is set: the writer
        turns it into a record, off the request path. Costs an append in ``fast`` mode, a
        commit in ``synchronous`` mode.
        """
        if self._closed:
            self._dropped_closed.inc()
            return False
        if record.status == 200 and self.config.sample_rate < 1.0:
            # Deterministic thinning (keep 1 in 1/rate); unlocked: concurrent requests may
            # shift which ones are kept, never how many are counted.
            self._sample_credit += self.config.sample_rate
            if self._sample_credit < 1.0:
                self._sampled_out.inc()
                return False
            self._sample_credit -= 1.0
        if self._thread is None:
            return self._write([record])
        if len(self._queue) >= self.config.queue_size and not self._wait_for_room():
            self._dropped_full.inc()
            return False
        self._queue.append(record)
        if len(self._queue) >= self.config.batch_size:
            self._wake.set()
        return True

    def _wait_for_room(self) -> bool:
        if self.config.full_queue is FullQueuePolicy.DROP:
            return False
        self._wake.set()
        deadline = time.monotonic() + self.config.block_timeout_s
        with self._room:
            while len(self._queue) >= self.config.queue_size:
                left = deadline - time.monotonic()
                if left <= 0 or not self._room.wait(left):
                    return len(self._queue) < self.config.queue_size
        return True

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    # --- the writer thread ------------------------------------------------------------
    def _run(self) -> None:
        self._apply_retention()
        while True:
            self._wake.wait(self.config.flush_interval_s)
            self._wake.clear()
            self._drain()
            if self._closed and not self._queue:
                return
            if time.monotonic() - self._last_retention > RETENTION_EVERY_S:
                self._apply_retention()

    def _drain(self) -> None:
        while self._queue:
            batch: list[PredictionRecord | RequestOutcome] = []
            markers: list[_Flush] = []
            while self._queue and len(batch) < self.config.batch_size:
                item = self._queue.popleft()
                if isinstance(item, _Flush):
                    markers.append(item)
                    break  # every record before the marker is in this batch
                batch.append(item)
            with self._room:
                self._room.notify_all()
            if batch:
                self._write(batch)
            if markers and self._process is not None:
                self._process.sync(FLUSH_TIMEOUT_S)
            for marker in markers:
                marker.done.set()

    def _rows(
        self,
        batch: Sequence[PredictionRecord],
        features: Sequence[NDArray[np.float32] | None] | None = None,
    ) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        columns = input_columns(batch, keep_tensors=self.config.keep_tensors)
        if features is None:
            features = [None] * len(batch)
            if self.featurizer is not None:
                try:
                    features = self.featurizer(batch)
                except Exception:  # misfit inputs must not lose the records themselves
                    log.warning("prediction log: no drift features for a batch", exc_info=True)
        for record, texts, vectors in zip(batch, columns, features, strict=True):
            rows.extend(rows_of(fields_of(record), record.rows, texts, feature_blobs(vectors)))
        return rows

    def _write(self, pending: Sequence[PredictionRecord | RequestOutcome]) -> bool:
        if self.packer is not None and self._writes_in_process():
            assert self._process is not None
            try:
                shipment = self.packer(list(pending))
            except Exception:  # a malformed record must not stop the writer, nor go uncounted
                log.exception("prediction log: %d records could not be packed", len(pending))
                self._dropped_error.inc(len(pending))
                return False
            if self._process.send(shipment):
                return True  # counted when the process says it wrote them
            return self.write_shipment(shipment)
        try:
            batch = self._records(pending)
        except Exception:  # a malformed record must not stop the writer, nor go uncounted
            log.exception("prediction log: %d records could not be turned into rows", len(pending))
            self._dropped_error.inc(len(pending))
            return False
        return self.write_records(batch)

    def _writes_in_process(self) -> bool:
        """Whether batches go to the log process (started here, at the first batch)."""
        if self.config.writer is not WriterPlacement.PROCESS or self._thread is None:
            return False
        if self._process is None and not self._process_failed:
            try:
                self._process = LogProcess(self.config, self._done)
            except Exception:  # no process on this platform: the thread writes
                log.exception("prediction log: no writer process; writing in this process")
                self._process_failed = True
        return self._process is not None and self._process.alive

    def _done(self, written: int, failed: int) -> None:
        self._written.inc(written)
        self._dropped_error.inc(failed)

    def write_records(
        self,
        batch: Sequence[PredictionRecord],
        features: Sequence[NDArray[np.float32] | None] | None = None,
    ) -> bool:
        """Insert records in one transaction (retried); False, counted, if they are lost.
        ``features``: their drift features when already computed (else the featurizer)."""
        try:
            rows = self._rows(batch, features)
        except Exception:  # a malformed record must not stop the writer, nor go uncounted
            log.exception("prediction log: %d records could not be turned into rows", len(batch))
            self._dropped_error.inc(len(batch))
            return False
        return self._insert_rows(rows, len(batch))

    def write_shipment(self, shipment: Shipment) -> bool:
        """Insert a packed batch (:func:`~utils.monitoring.log_process.shipment_rows`) in one
        transaction (retried); False, counted, if its records are lost."""
        count = len(shipment.fields)
        try:
            rows = shipment_rows(shipment, keep_tensors=self.config.keep_tensors)
        except Exception:  # a malformed record must not stop the writer, nor go uncounted
            log.exception("prediction log: %d records could not be turned into rows", count)
            self._dropped_error.inc(count)
            return False
        return self._insert_rows(rows, count)

    def _insert_rows(self, rows: list[tuple[Any, ...]], records: int) -> bool:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self.engine.begin() as connection:
                    connection.exec_driver_sql(self._insert, rows)
            except sa.exc.SQLAlchemyError:
                if attempt == WRITE_ATTEMPTS:
                    log.exception(
                        "prediction log: %d records lost after %d tries", records, attempt
                    )
                    self._dropped_error.inc(records)
                    return False
                time.sleep(0.2 * attempt)
            else:
                self._written.inc(records)
                return True
        return False

    def _records(
        self, pending: Sequence[PredictionRecord | RequestOutcome]
    ) -> list[PredictionRecord]:
        if self.converter is not None:
            return self.converter(list(pending))
        return [r for r in pending if isinstance(r, PredictionRecord)]

    def _apply_retention(self) -> None:
        self._last_retention = time.monotonic()
        if self.config.retention_days is None:
            return
        try:
            deleted = self.delete_older_than(time.time() - self.config.retention_days * 86400)
        except sa.exc.SQLAlchemyError:
            log.exception("prediction log: retention failed (will try again in an hour)")
            return
        if deleted:
            log.info("prediction log: deleted %d rows past retention", deleted)

    # --- control ----------------------------------------------------------------------
    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until every record accepted so far is written; False on timeout."""
        if self._thread is None or not self._thread.is_alive():
            return not self._queue
        marker = _Flush()
        self._queue.append(marker)
        self._wake.set()
        return marker.done.wait(timeout_s)

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop accepting, write every accepted record, stop the writer, close the pool."""
        self._closed = True
        if self._thread is not None:
            self._wake.set()
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error("prediction log: %d records not written at close", len(self._queue))
        if self._process is not None:
            self._process.close(timeout_s)
        self.engine.dispose()

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- maintenance and reading ------------------------------------------------------
    def delete_older_than(self, cutoff: float) -> int:
        """Delete predictions and feedback older than Unix time ``cutoff``; rows deleted."""
        with self.engine.begin() as connection:
            gone = connection.execute(predictions.delete().where(predictions.c.time < cutoff))
            connection.execute(feedback.delete().where(feedback.c.time < cutoff))
        return int(gone.rowcount or 0)

    def submit_feedback(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        model: str | None = None,
        labels: Sequence[str] = (),
    ) -> queries.FeedbackResult:
        """Join ground truth to logged requests (see :func:`queries.submit_feedback`); this
        process's queued records are written first, so a request just answered is found."""
        self.flush()
        return queries.submit_feedback(self.engine, items, model=model, labels=labels)
