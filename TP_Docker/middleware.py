"""HTTP concerns as pure ASGI middleware: request id, access log, body limit, auth, rate.

Pure ASGI on purpose: Starlette's ``BaseHTTPMiddleware`` wraps every request in extra
tasks and memory streams, and costs a large share of a tiny model's request budget.
Two layers, so that CORS (when configured) can sit between them and decorate refusals:

``RequestContextMiddleware`` (outermost): request id (taken from ``X-Request-ID`` when
sane, else made), echoed in the response; the access log line; the HTTP counter; the body
size limit (413 from Content-Length before reading, or while streaming); and the last
resort for an unexpected exception (a 500 naming only the request id).

``AccessMiddleware``: API keys (constant-time comparison, health/metrics/docs open when
configured) and per-key or per-client rate limiting (429 + Retry-After); a request with a
missing or wrong key counts against its client address's limit before it gets its 401. The
limiter is the asyncio flavour of `limits`: its thread-safe memory storage took a lock
shared with its expiry thread, which showed as ~15 us of lock waits per request under
load.
"""

from __future__ import annotations

import hmac
import logging
import math
import os
import time
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import FixedWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from TP_Docker.errors import error_parts, internal_error_body, send_error
from utils.errors import PayloadTooLarge, RateLimited, ToolkitError, Unauthorized
from utils.monitoring.logging import AccessLog, request_id_var
from utils.monitoring.metrics import ServingMetrics

logger = logging.getLogger("TP_Docker.http")
_SAFE_ID = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")


def _request_id(raw: bytes | None) -> str:
    if raw and len(raw) <= 128 and all(c in _SAFE_ID for c in raw):
        return raw.decode()
    return os.urandom(8).hex()


class RequestContextMiddleware:
    """Request id, access log, HTTP counter, body size limit, last-resort 500."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        metrics: ServingMetrics,
        access_log: AccessLog | None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        raw_id: bytes | None = None
        length: bytes | None = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                raw_id = value
            elif key == b"content-length":
                length = value
        rid = _request_id(raw_id)
        rid_header = (b"x-request-id", rid.encode())
        token = request_id_var.set(rid)
        status = [0]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", ()), rid_header]
            await send(message)

        limit = self.max_body_bytes
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(f"the body is over {limit:,} bytes: send smaller batches")
            return message

        try:
            if length is not None and (not length.isdigit() or int(length) > limit):
                raise PayloadTooLarge(
                    f"the body ({length.decode(errors='replace')} bytes) is over the "
                    f"{limit:,}-byte limit: send smaller batches"
                )
            await self.app(scope, limited_receive, send_with_id)
        except ToolkitError as exc:
            if status[0] == 0:
                await send_error(send_with_id, *error_parts(exc))
        except Exception:
            logger.exception("unhandled error", extra={"path": scope["path"]})
            if status[0] == 0:
                await send_error(send_with_id, 500, {}, internal_error_body())
        finally:
            self.metrics.observe_http(scope["method"], status[0])
            if self.access_log is not None:
                client = scope.get("client")
                self.access_log.log(
                    {
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status[0],
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                        "client": client[0] if client else None,
                    }
                )
            request_id_var.reset(token)


class AccessMiddleware:
    """API keys and rate limits; open paths (health, metrics, docs) skip both."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_keys: list[str],
        rate_limit: str,
        open_paths: frozenset[str],
    ) -> None:
        self.app = app
        self.keys = [k.encode() for k in api_keys]
        self.open_paths = open_paths
        self.limits: list[RateLimitItem] = parse_many(rate_limit) if rate_limit else []
        self.limiter = FixedWindowRateLimiter(MemoryStorage()) if self.limits else None

    def _key(self, scope: Scope) -> bytes | None:
        for key, value in scope["headers"]:
            if key == b"x-api-key":
                return bytes(value)
            if key == b"authorization" and value[:7].lower() == b"bearer ":
                return bytes(value[7:].strip())
        return None

    def _check_key(self, given: bytes | None) -> None:
        if given is None:
            raise Unauthorized(
                "this server needs an API key: send it as 'X-API-Key: <key>' or "
                "'Authorization: Bearer <key>'"
            )
        matched = False
        for key in self.keys:  # compare with every key: no early exit to time
            matched |= hmac.compare_digest(given, key)
        if not matched:
            raise Unauthorized("the API key is not valid: check it, or ask for a new one")

    async def _check_rate(self, identity: str) -> None:
        assert self.limiter is not None
        for item in self.limits:
            if not await self.limiter.hit(item, identity):
                reset = (await self.limiter.get_window_stats(item, identity)).reset_time
                raise RateLimited(
                    f"rate limit of {item} exceeded: slow down and retry after the pause",
                    retry_after_s=max(1.0, math.ceil(reset - time.time())),
                )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        try:
            identity: Any
            client = scope.get("client")
            client_identity = f"ip:{client[0] if client else 'unknown'}"
            if self.keys:
                given = self._key(scope)
                try:
                    self._check_key(given)
                except Unauthorized:
                    # A refused request still counts against its client's address, before
                    # the 401 goes out: a burst of guessed keys ends in 429, not in a free
                    # oracle answering every guess.
                    if self.limiter is not None:
                        await self._check_rate(client_identity)
                    raise
                identity = f"key:{given!r}"
            else:
                identity = client_identity
            if self.limiter is not None:
                await self._check_rate(identity)
        except ToolkitError as exc:
            await send_error(send, *error_parts(exc))
            return
        await self.app(scope, receive, send)
