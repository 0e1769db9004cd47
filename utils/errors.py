"""The one exception family of the toolkit.

Every error raised on purpose derives from :class:`ToolkitError`. Each class carries the
stdlib :class:`~http.HTTPStatus` it means, so the FastAPI app and the Flask app render the
same code from one handler each, and the engine never imports a web framework. The
message must be safe to show a client and should say what to do about it.
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # payload types only: errors.py imports nothing of the toolkit at run time
    from utils.compression.auto import AutoResult
    from utils.deployment_helpers.manifest import ParityReport


class ToolkitError(Exception):
    """Base of every error the toolkit raises on purpose.

    HTTP servers answer ``status`` with ``{"error": str(exc)}``; command-line tools print
    ``str(exc)`` on one line and exit with ``exit_code``.
    """

    status: ClassVar[HTTPStatus] = HTTPStatus.INTERNAL_SERVER_ERROR
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInput(ToolkitError):
    """The request or the file is malformed: names the input and says why (HTTP 400)."""

    status = HTTPStatus.BAD_REQUEST
    exit_code = 2


class UnsupportedMediaType(BadInput):
    """The body or upload is of a type we cannot read (HTTP 415)."""

    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE


class PayloadTooLarge(BadInput):
    """The body or upload is over the configured limit (HTTP 413)."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class Unauthorized(ToolkitError):
    """No API key, or a wrong one (HTTP 401)."""

    status = HTTPStatus.UNAUTHORIZED


class Forbidden(ToolkitError):
    """A valid key that may not do this, e.g. load a model without the admin key (HTTP 403)."""

    status = HTTPStatus.FORBIDDEN


class ModelNotFound(ToolkitError):
    """No such model or version in the repository (HTTP 404)."""

    status = HTTPStatus.NOT_FOUND
    exit_code = 3


class RequestsNotLogged(ToolkitError):
    """Feedback names request ids the prediction log does not hold for the model (HTTP 404)."""

    status = HTTPStatus.NOT_FOUND


class RequestTimeout(BadInput):
    """The client did not send its whole request in time (HTTP 408)."""

    status = HTTPStatus.REQUEST_TIMEOUT


class ModelNotReady(ToolkitError):
    """The model exists but cannot serve now: loading, unloaded or refused (HTTP 503)."""

    status = HTTPStatus.SERVICE_UNAVAILABLE


class Overloaded(ToolkitError):
    """The queue is full; the client should retry after ``retry_after_s`` (HTTP 503)."""

    status = HTTPStatus.SERVICE_UNAVAILABLE

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RateLimited(ToolkitError):
    """Too many requests from one key or client (HTTP 429)."""

    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class InferenceFailed(ToolkitError):
    """onnxruntime failed on an input that passed validation: a server-side fault (HTTP 500).

    The message names the model, never the input or onnxruntime's own text (the log has
    both); other requests of the same batch are re-run alone and do not see it.
    """


class IntegrityError(ToolkitError):
    """A model file whose sha256 does not match its manifest: never served (HTTP 500 at load)."""

    exit_code = 4


class ModelLoadError(ToolkitError):
    """A version that cannot be made ready: onnxruntime cannot open it, its warm-up run
    fails, or its outputs contradict its manifest. That version is UNAVAILABLE with this
    reason; the other versions and models serve (Triton's behaviour)."""

    exit_code = 4


class ConversionError(ToolkitError):
    """A model could not be converted; the message says which step failed and what to try."""

    exit_code = 5


class ParityError(ConversionError):
    """The ONNX model disagrees with its source beyond tolerance: one line per output."""

    exit_code = 6


class ParityFailure(ParityError):
    """A :class:`ParityError` that also carries the full report (for the manifest/CLI)."""

    def __init__(self, message: str, report: ParityReport) -> None:
        super().__init__(message)
        self.report = report


class CompressionError(ToolkitError):
    """A compression recipe failed or no recipe met the accuracy budget."""

    exit_code = 7


class NoRecipeWithinBudget(CompressionError):
    """No candidate met the budget; carries the full result so the table can be shown."""

    def __init__(self, message: str, result: AutoResult) -> None:
        super().__init__(message)
        self.result = result


class ConfigurationError(ToolkitError):
    """A setting read from the environment is malformed: names the variable and the fix."""

    exit_code = 2


def error_body(exc: ToolkitError, request_id: str | None) -> dict[str, str]:
    """The body every app answers for a refusal: ``{"error": message}`` (the Open Inference
    Protocol's shape). A server fault (5xx other than 503) also names the request id, so a
    user can quote it; nothing else (no path, no stack trace) reaches the client."""
    message = exc.message
    if exc.status >= 500 and exc.status != HTTPStatus.SERVICE_UNAVAILABLE:
        message = f"{message} (request id {request_id or 'unknown'})"
    return {"error": message}


def retry_after_s(exc: ToolkitError) -> int | None:
    """Seconds for a ``Retry-After`` header when the client should come back, else None."""
    if isinstance(exc, Overloaded | RateLimited):
        return max(1, math.ceil(exc.retry_after_s))
    return None
