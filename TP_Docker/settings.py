"""The inference server's one settings object, read from ``API_*`` environment variables.

Every field has a default that serves the committed ``models/`` repository from a fresh
clone; TP_Docker/README.md's settings table lists the same fields. No secret has a usable
default: with no ``API_API_KEYS`` the server runs open and says so loudly at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from utils.deployment_helpers.dataplane import DataPlaneSettings
from utils.monitoring.settings import MonitoringSettings
from utils.paths import DEFAULT_MODEL_REPOSITORY


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class Settings(MonitoringSettings):
    """Configuration of ``TP_Docker.app`` (env prefix ``API_``, e.g. ``API_PORT=9000``).

    The prediction log's fields (``API_PREDICTION_LOG_*``, ``API_DRIFT_WINDOW``) come from
    :class:`~utils.monitoring.settings.MonitoringSettings`, shared with the Flask app."""

    model_config = SettingsConfigDict(env_prefix="API_", extra="ignore", protected_namespaces=())

    model_repository: Path = DEFAULT_MODEL_REPOSITORY
    """Folder in Triton layout (``<model>/<version>/model.onnx`` + manifest), loaded at start."""
    host: str = "127.0.0.1"
    """Interface for ``python TP_Docker/app.py``; the container sets 0.0.0.0."""
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    """TCP port for ``python TP_Docker/app.py``."""
    fd: Annotated[int | None, Field(ge=0)] = None
    """Serve on this inherited, already-bound socket instead of host:port (a supervisor
    bound it to port 0 and handed it over: no free-port-then-bind race)."""
    workers: Annotated[int, Field(ge=1)] = 1
    """uvicorn worker processes for ``python TP_Docker/app.py`` (each loads every model)."""
    intra_op_threads: Annotated[int, Field(ge=1)] = 1
    """onnxruntime threads per session: 1 suits many small concurrent requests."""
    inference_threads: Annotated[int, Field(ge=1)] = 2
    """Worker threads running onnxruntime calls (the event loop never runs one)."""
    batching: bool = True
    """Dynamic batching per model (limits from each config.pbtxt); false: one call per request."""
    max_batch_size: Annotated[int | None, Field(ge=1)] = None
    """Caps every model's batch size when set (a model's own limit applies otherwise)."""
    batches_in_flight: Annotated[int, Field(ge=1)] = 2
    """onnxruntime calls one model may run at once; 2 overlaps a batch with the next one's
    collection on a 2-core machine (at most ``inference_threads`` run together)."""
    max_queue_size: Annotated[int, Field(ge=1)] = 256
    """Requests waiting per model; one more is refused with 503 + Retry-After."""
    strict_readiness: bool = True
    """Ready only when every model has a READY version (Triton's default); false: when at
    least one model has."""
    cache_size: Annotated[int, Field(ge=0)] = 0
    """Entries of each model's LRU response cache (keyed by input hash), for the models whose
    config.pbtxt has Triton's ``response_cache { enable: true }``; 0 turns it off everywhere."""
    api_keys: str = ""
    """Comma-separated keys for ``X-API-Key`` or ``Authorization: Bearer``; empty: auth off."""
    admin_key: str = ""
    """Key for repository load/unload; empty: load/unload are refused (403)."""
    public_health: bool = True
    """Health endpoints (``/v2/health/*``) answer without a key (probes carry none)."""
    public_metrics: bool = True
    """``/metrics`` answers without a key (Prometheus scrapes without one)."""
    public_docs: bool = True
    """``/docs`` and ``/openapi.json`` answer without a key."""
    rate_limit: str = "100/second"
    """Per API key (or per client address when auth is off), `limits` syntax; empty: off."""
    max_body_bytes: Annotated[int, Field(ge=1024)] = 4 * 1024 * 1024
    """Largest request body; a larger one is refused with 413 before it is read."""
    cors_origins: str = ""
    """Comma-separated origins allowed by CORS (``*`` for any); empty: no CORS headers."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    """Root log level (any case)."""
    log_json: bool | None = None
    """JSON log lines (true), text (false), or JSON unless stderr is a terminal (unset)."""
    access_log: bool = True
    """One log line per request with method, path, status, duration and request id."""
    drain_timeout_s: Annotated[float, Field(ge=0)] = 10.0
    """On shutdown, how long queued requests may take to finish."""
    forwarded_allow_ips: str = ""
    """Comma-separated proxy addresses (or ``*``) whose ``X-Forwarded-For`` is trusted for
    the client address (rate limits, logs); empty: the header is ignored, so a client cannot
    pick another's rate-limit bucket. Compose and Kubernetes set it for their nginx/ingress."""
    max_connections: Annotated[int, Field(ge=16)] = 4096
    """Open connections at most; beyond it the oldest idle one (no request in progress) is
    closed, so a flood of half-open connections cannot exhaust file descriptors and take
    liveness down."""
    request_read_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    """A client must send its request headers and body within this many seconds of
    starting it (or of connecting); a slow or idle one is disconnected."""
    keep_alive_timeout_s: Annotated[float, Field(gt=0)] = 5.0
    """An idle keep-alive connection is closed after this many seconds."""
    max_upload_bytes: Annotated[int, Field(ge=1024)] = 8 * 1024 * 1024
    """Largest image a model that takes pictures decodes."""
    max_image_pixels: Annotated[int, Field(ge=64)] = 4096 * 4096
    """Largest decoded image (width x height): a small file can decode to a huge picture."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("rate_limit")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        if value.strip():
            from limits import parse_many

            try:
                parse_many(value)
            except ValueError:
                raise ValueError(
                    f"API_RATE_LIMIT={value!r} is not a rate like '100/second' or '1000/minute'"
                ) from None
        return value.strip()

    def data_plane(self) -> DataPlaneSettings:
        """The data plane's part of these settings."""
        return DataPlaneSettings(
            model_repository=self.model_repository,
            intra_op_threads=self.intra_op_threads,
            inference_threads=self.inference_threads,
            batching=self.batching,
            max_batch_size=self.max_batch_size,
            batches_in_flight=self.batches_in_flight,
            max_queue_size=self.max_queue_size,
            strict_readiness=self.strict_readiness,
            cache_size=self.cache_size,
            drain_timeout_s=self.drain_timeout_s,
            max_upload_bytes=self.max_upload_bytes,
            max_image_pixels=self.max_image_pixels,
        )

    @property
    def forwarded_allow_list(self) -> list[str]:
        """The proxies whose X-Forwarded-For is trusted."""
        return _split(self.forwarded_allow_ips)

    @property
    def api_key_list(self) -> list[str]:
        """The configured API keys."""
        return _split(self.api_keys)

    @property
    def cors_origin_list(self) -> list[str]:
        """The configured CORS origins."""
        return _split(self.cors_origins)
