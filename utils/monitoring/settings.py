"""The monitoring part of an app's settings, defined once for both apps.

Each app's ``Settings`` inherits :class:`MonitoringSettings` and gives it its prefix, so
the same fields read ``API_PREDICTION_LOG_URL`` in the FastAPI app and
``WEB_PREDICTION_LOG_URL`` in the Flask app. Defaults are taken from
:class:`~utils.monitoring.prediction_log.PredictionLogConfig` and
:class:`~utils.monitoring.drift_monitor.DriftConfig`, so a default lives in one place.

Both apps log to the same file by default,
:data:`~utils.monitoring.database.DEFAULT_URL`, anchored on the repository rather than on
the working directory: every worker of both apps, started from any folder, writes one
log, which the Flask monitoring page, ``/metrics`` and the report read.
"""

from __future__ import annotations

from typing import Annotated, Literal

import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from pydantic import Field
from pydantic_settings import BaseSettings

from utils.errors import ConfigurationError
from utils.monitoring.database import DEFAULT_URL
from utils.monitoring.drift_monitor import DriftConfig
from utils.monitoring.model_monitor import ModelMonitor, MonitoringConfig
from utils.monitoring.prediction_log import (
    Durability,
    FullQueuePolicy,
    PredictionLogConfig,
    WriterPlacement,
)

_LOG = PredictionLogConfig()
_DRIFT = DriftConfig()


class MonitoringSettings(BaseSettings):
    """Prediction log, feedback and drift settings (a mixin: the app sets the prefix)."""

    prediction_log: bool = True
    """Log every inference request (successes and refusals) to the prediction log; false:
    no log, no feedback, and drift and accuracy from this process's own traffic only."""
    prediction_log_url: str = ""
    """SQLAlchemy URL of the log every worker shares: ``sqlite:////abs/path.sqlite3`` (WAL
    mode) or ``postgresql://user:password@host/db``; empty: ``out/prediction_log.sqlite3``
    of the repository, whatever the working directory (the same file for both apps)."""
    prediction_log_inputs: Literal["summary", "tensors"] = "summary"
    """What the log keeps of the inputs: a summary per row (shape, dtype, mean, min, max)
    or the tensors themselves (larger rows; what a retraining set needs)."""
    prediction_log_queue_size: Annotated[int, Field(ge=1)] = _LOG.queue_size
    """Records waiting for the log's writer thread, at most (about 1 KB each)."""
    prediction_log_full_queue: FullQueuePolicy = _LOG.full_queue
    """When the queue is full: ``drop`` the record and count it in
    ``prediction_log_dropped_total``, or ``block`` the request for room (up to 1 s)."""
    prediction_log_durability: Durability = _LOG.durability
    """``fast``: a record is acknowledged once queued; ``synchronous``: committed before
    the answer leaves (a commit per request; nothing lost if the process is killed)."""
    prediction_log_flush_interval_s: Annotated[float, Field(gt=0)] = _LOG.flush_interval_s
    """The log's writer wakes at least this often: in ``fast`` mode, the traffic a killed
    process (SIGKILL) can lose, in time. A graceful stop (SIGTERM) loses nothing."""
    prediction_log_writer: WriterPlacement = _LOG.writer
    """``process``: rows are built and inserted by a child process, on another core (the
    serving process decodes and packs each batch); ``thread``: by a thread of the serving
    process, which then shares the interpreter lock with the requests (``ours_log_thread``
    in ``make bench-serve``)."""
    prediction_log_sample_rate: Annotated[float, Field(ge=0.0, le=1.0)] = _LOG.sample_rate
    """Share of successful requests logged (refusals are always logged)."""
    prediction_log_retention_days: Annotated[float | None, Field(gt=0)] = _LOG.retention_days
    """Rows older than this many days are deleted (hourly); unset keeps everything."""
    drift_window: Annotated[int, Field(ge=10)] = _DRIFT.window
    """Most recent rows per model version that drift and accuracy are computed on."""

    def open_monitor(self, registry: CollectorRegistry) -> ModelMonitor:
        """The app's :class:`ModelMonitor` on ``registry``, its log opened and migrated.

        :raise ConfigurationError: the log cannot be opened (a read-only disk, a database
            that does not answer); the message names the variable to change.
        """
        try:
            return ModelMonitor(registry, self.monitoring_config())
        except (OSError, sa.exc.SQLAlchemyError) as exc:
            prefix = str(self.model_config.get("env_prefix", ""))
            reason = str(exc).splitlines()[0][:300]
            raise ConfigurationError(
                f"{prefix}PREDICTION_LOG_URL={self.prediction_log_url!r}: the prediction log "
                f"cannot be opened ({reason}); point it at a writable file or a database, "
                f"or set {prefix}PREDICTION_LOG=false"
            ) from None

    def monitoring_config(self) -> MonitoringConfig:
        """The library's configuration for these settings."""
        log = None
        if self.prediction_log:
            log = PredictionLogConfig(
                url=self.prediction_log_url or DEFAULT_URL,
                queue_size=self.prediction_log_queue_size,
                full_queue=self.prediction_log_full_queue,
                durability=self.prediction_log_durability,
                flush_interval_s=self.prediction_log_flush_interval_s,
                sample_rate=self.prediction_log_sample_rate,
                retention_days=self.prediction_log_retention_days,
                keep_tensors=self.prediction_log_inputs == "tensors",
                writer=self.prediction_log_writer,
            )
        return MonitoringConfig(prediction_log=log, drift=DriftConfig(window=self.drift_window))
