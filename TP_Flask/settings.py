"""The Flask page's one settings object, read from ``WEB_*`` environment variables.

Every field has a default that works from a fresh clone (the committed ``models/``
repository, 127.0.0.1:5000). The prefix is ``WEB_`` rather than ``FLASK_`` on purpose:
Flask's own CLI reads ``FLASK_APP``, ``FLASK_DEBUG``, ``FLASK_RUN_PORT``..., and sharing
its prefix would make one variable mean two things. ``PORT`` (no prefix) is also read,
because hosting platforms and the issue ask for it.

The table in TP_Flask/README.md is built from the docstrings below.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal, get_args

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from utils.deployment_helpers.dataplane import DataPlaneSettings
from utils.monitoring.settings import MonitoringSettings
from utils.paths import DEFAULT_MODEL_REPOSITORY

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

_WELL_KNOWN_SECRETS = frozenset({"dev", "secret", "changethis", "changeme", "development"})


class Settings(MonitoringSettings):
    """Configuration of one Flask app instance (``create_app(Settings(...))`` in tests).

    The prediction log's fields (``WEB_PREDICTION_LOG_*``, ``WEB_DRIFT_WINDOW``) come from
    :class:`~utils.monitoring.settings.MonitoringSettings`, shared with the API."""

    model_config = SettingsConfigDict(
        env_prefix="WEB_", extra="ignore", frozen=True, populate_by_name=True
    )

    model_repository: Path = DEFAULT_MODEL_REPOSITORY
    """Folder in Triton layout scanned at start-up (the committed ``models/`` by default)."""

    serve_models: str = ""
    """Comma-separated model names to load, e.g. ``digits_torch,minilm``; empty loads every
    model of the repository. The others are listed as not loaded."""

    host: str = "127.0.0.1"
    """Interface ``python TP_Flask/app.py`` binds; ``0.0.0.0`` only inside a container.
    gunicorn (``gunicorn.conf.py``) binds ``0.0.0.0`` when it is unset."""

    port: int = Field(
        default=5000, ge=0, le=65535, validation_alias=AliasChoices("WEB_PORT", "PORT")
    )
    """Port of ``python TP_Flask/app.py`` (``WEB_PORT`` or ``PORT``; ``--port`` wins)."""

    secret_key: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(32)))
    """Signs the session cookie that carries the CSRF token. Generated at start when unset,
    so there is never a usable default; set it when several workers must share sessions
    (TP_Flask/gunicorn.conf.py does that for its workers)."""

    intra_op_threads: int = Field(default=1, ge=1)
    """onnxruntime threads per inference; 1 keeps latency steady on a shared 2-core box."""

    max_upload_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    """Largest request body (an upload, a drawing, a JSON tensor); larger answers 413."""

    max_image_pixels: int = Field(default=4_000_000, ge=64)
    """Largest decoded image (width x height); a small file can decode to a huge image."""

    rate_limit: str = "120 per minute"
    """Flask-Limiter limit on each prediction route per client address (in memory, per
    worker); an empty string turns it off."""

    default_model: str = "digits_torch"
    """Model selected first on the page (falls back to the first ready digits model)."""

    text_model: str = "minilm"
    """Sentence-embedding model for the similarity box; the box hides when it is absent."""

    stats_window_s: int = Field(default=60, ge=5, le=3600)
    """Seconds of history behind the live numbers of the monitoring page (read from the
    prediction log: every worker's traffic)."""

    log_format: Literal["auto", "json", "text"] = "auto"
    """``json``: one object a line (production); ``text``: readable; ``auto``: text on a
    terminal, json otherwise."""

    log_level: LogLevel = "INFO"
    """Logging level of the process: DEBUG, INFO, WARNING, ERROR or CRITICAL (any case). A
    typo stops the app at start with one line naming ``WEB_LOG_LEVEL``."""

    trusted_proxies: int = Field(default=0, ge=0, le=5)
    """How many reverse proxies (nginx...) stand in front: their X-Forwarded-For/-Proto are
    then trusted, so rate limits and logs see the real client. 0 when clients connect
    directly (a forged header must not pick someone else's rate-limit bucket)."""

    session_cookie_secure: bool = False
    """Send the session cookie over HTTPS only; turn on behind a TLS proxy."""

    workers: int = Field(default=2, ge=1, le=64)
    """gunicorn worker processes (``gunicorn.conf.py`` only). Each holds its own models."""

    threads: int = Field(default=4, ge=1, le=64)
    """Threads per gunicorn worker (``gunicorn.conf.py`` only): onnxruntime releases the
    GIL, and a slow upload then does not block a whole worker."""

    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        validation_alias=AliasChoices("WEB_FORWARDED_ALLOW_IPS", "FORWARDED_ALLOW_IPS"),
    )
    """Addresses gunicorn trusts for X-Forwarded-* (``FORWARDED_ALLOW_IPS``, gunicorn's own
    variable name, or ``WEB_FORWARDED_ALLOW_IPS``); comma-separated, ``*`` for any."""

    batching: bool = True
    """Dynamic batching of concurrent requests per model, as in the API (the page's
    threads share one batcher per model through the data plane)."""

    def model_names(self) -> list[str]:
        """``serve_models`` as a list (empty: serve everything)."""
        return [name.strip() for name in self.serve_models.split(",") if name.strip()]

    def data_plane(self) -> DataPlaneSettings:
        """The data plane's part of these settings."""
        return DataPlaneSettings(
            model_repository=self.model_repository,
            intra_op_threads=self.intra_op_threads,
            batching=self.batching,
            strict_readiness=False,
            models=tuple(self.model_names()),
            default_model=self.default_model,
            max_upload_bytes=self.max_upload_bytes,
            max_image_pixels=self.max_image_pixels,
        )

    @field_validator("secret_key")
    @classmethod
    def _refuse_weak_secret(cls, value: SecretStr) -> SecretStr:
        """A short or well-known key lets anyone forge the session cookie: refuse it."""
        raw = value.get_secret_value()
        if len(raw) < 16 or raw.lower() in _WELL_KNOWN_SECRETS:
            raise ValueError(
                "WEB_SECRET_KEY is too weak: use at least 16 random characters, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, or leave it "
                "unset to get a fresh one at start"
            )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        """``debug`` works as well as ``DEBUG``; anything else reaches the error as typed."""
        if isinstance(value, str) and value.strip().upper() in get_args(LogLevel):
            return value.strip().upper()
        return value

    @field_validator("rate_limit")
    @classmethod
    def _strip_rate_limit(cls, value: str) -> str:
        return value.strip()
