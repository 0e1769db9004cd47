"""HTTP concerns as pure ASGI middleware: request id, access log, body limit, auth, rate.

Pure ASGI on purpose: Starlette's ``BaseHTTPMiddleware`` wraps every request in extra
tasks and memory streams, and costs a large share of a tiny model's request budget.
Two layers, so that CORS (when configured) can sit between them and decorate refusals:

``RequestContextMiddleware`` (outermost): request id (the one rule of every app,
``utils.monitoring.logging.request_id_from``), echoed in the response; the client address
(``X-Forwarded-For`` trusted only from ``API_FORWARDED_ALLOW_IPS``); the access log line
(the one format of every app); the HTTP counter; the body size limit (413 from
Content-Length before reading, or while streaming); and the last resort for an unexpected
exception (a 500 naming only the request id).

``AccessMiddleware``: API keys (``utils.deployment_helpers.auth``: ``X-API-Key``, Bearer,
or the admin key in ``X-Admin-Key``) and per-key or per-client rate limiting (429 +
Retry-After); a request with a missing or wrong key counts against its client address's
limit before it gets its 401. The limiter is the asyncio flavour of `limits`: its
thread-safe memory storage took a lock shared with its expiry thread, which showed as
~15 us of lock waits per request under load.

Both store who asked in the ASGI scope (``scope["client_id"]``): the data plane records it
in the prediction log (a key's id, never the key). Their rules live in :class:`HttpContext`
and :class:`AccessGate`, which the infer door (``fast_path.py``) applies too: one
implementation, whichever path a request takes.
"""

from __future__ import annotations

import logging
import math
import time
from contextvars import Token
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import FixedWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from TP_Docker.errors import error_parts, internal_error_body, send_error
from utils.deployment_helpers.auth import ApiKeys, read_api_key
from utils.deployment_helpers.forwarding import TrustedProxies
from utils.errors import PayloadTooLarge, RateLimited, ToolkitError, Unauthorized
from utils.monitoring.logging import AccessLog, access_fields, request_id_from, request_id_var
from utils.monitoring.metrics import ServingMetrics

logger = logging.getLogger("TP_Docker.http")


@dataclass(slots=True)
class Exchange:
    """One HTTP request while it is served: its id, who sent it, when, what was answered."""

    request_id: str
    client: str
    started: float
    headers: dict[bytes, bytes]
    """The request's headers by (lower-case) name, read once for every check."""
    id_header: tuple[bytes, bytes]
    token: Token[str | None]
    status: int = 0


def body_too_large(limit: int) -> PayloadTooLarge:
    """The 413 for a body that grew past ``limit`` while being read."""
    return PayloadTooLarge(f"the body is over {limit:,} bytes: send smaller batches")


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, at most ``limit`` bytes (413 past it); None: the client left."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class HttpContext:
    """The request-context rules, shared by :class:`RequestContextMiddleware` and the infer
    door (``fast_path.py``): request id, client address, declared body size, HTTP counter
    and access-log line. One implementation, whichever path a request takes."""

    def __init__(
        self,
        *,
        max_body_bytes: int,
        metrics: ServingMetrics,
        access_log: AccessLog | None,
        proxies: TrustedProxies,
    ) -> None:
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.access_log = access_log
        self.proxies = proxies

    def begin(self, scope: Scope) -> Exchange:
        """Read the request id and client address (stored in the scope, for the data plane
        and the access checks) and make the id current for logs and error bodies."""
        headers = dict(scope["headers"])
        forwarded = headers.get(b"x-forwarded-for")
        rid = request_id_from(headers.get(b"x-request-id"))
        peer = scope.get("client")
        client = self.proxies.client(
            peer[0] if peer else None, forwarded.decode("latin-1") if forwarded else None
        )
        scope["client_address"] = scope["client_id"] = client
        return Exchange(
            rid,
            client,
            time.perf_counter(),
            headers,
            (b"x-request-id", rid.encode()),
            request_id_var.set(rid),
        )

    def check_declared_length(self, exchange: Exchange) -> None:
        """413 from ``Content-Length`` alone, before a byte of the body is read."""
        length = exchange.headers.get(b"content-length")
        limit = self.max_body_bytes
        if length is not None and (not length.isdigit() or len(length) > 15 or int(length) > limit):
            raise PayloadTooLarge(
                f"the body ({length[:20].decode(errors='replace')} bytes) is over the "
                f"{limit:,}-byte limit: send smaller batches"
            )

    def end(self, scope: Scope, exchange: Exchange) -> None:
        """Count the request, write its access-log line, restore the request id."""
        self.metrics.observe_http(scope["method"], exchange.status)
        if self.access_log is not None:
            self.access_log.log(
                access_fields(
                    scope["method"],
                    scope["path"],
                    exchange.status,
                    time.perf_counter() - exchange.started,
                    exchange.client,
                )
            )
        request_id_var.reset(exchange.token)

    async def answer_failure(
        self,
        scope: Scope,
        exchange: Exchange,
        send: Send,
        exc: Exception,
        extra_headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        """The last word on a request that raised, unless its answer has started: the
        refusal of a ToolkitError, else a 500 naming only the request id (the stack trace
        goes to the log, never to the client)."""
        if isinstance(exc, ToolkitError):
            status, headers, body = error_parts(exc)
        else:
            logger.error("unhandled error", extra={"path": scope["path"]}, exc_info=exc)
            status, headers, body = 500, {}, internal_error_body()
        if exchange.status == 0:
            exchange.status = status
            await send_error(send, status, headers, body, extra_headers)


class RequestContextMiddleware:
    """Request id, client address, access log, HTTP counter, body limit, last-resort 500."""

    def __init__(self, app: ASGIApp, *, context: HttpContext) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = self.context.begin(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                message["headers"] = [*message.get("headers", ()), exchange.id_header]
            await send(message)

        limit = self.context.max_body_bytes
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise body_too_large(limit)
            return message

        try:
            self.context.check_declared_length(exchange)
            await self.app(scope, limited_receive, send_with_id)
        except Exception as exc:
            await self.context.answer_failure(scope, exchange, send, exc, (exchange.id_header,))
        finally:
            self.context.end(scope, exchange)


class AccessGate:
    """API keys and rate limits: the checks of :class:`AccessMiddleware` and the infer door."""

    def __init__(self, *, keys: ApiKeys, rate_limit: str, open_paths: frozenset[str]) -> None:
        self.keys = keys
        self.open_paths = open_paths
        self.limits: list[RateLimitItem] = parse_many(rate_limit) if rate_limit else []
        self.limiter = FixedWindowRateLimiter(MemoryStorage()) if self.limits else None

    @staticmethod
    def _given_key(headers: dict[bytes, bytes]) -> str | None:
        api_key = headers.get(b"x-api-key")
        authorization = headers.get(b"authorization")
        admin = headers.get(b"x-admin-key")
        return read_api_key(
            api_key.decode("latin-1") if api_key is not None else None,
            authorization.decode("latin-1") if authorization is not None else None,
        ) or (admin.decode("latin-1") if admin is not None else None)

    async def _check_rate(self, identity: str) -> None:
        assert self.limiter is not None
        for item in self.limits:
            if not await self.limiter.hit(item, identity):
                reset = (await self.limiter.get_window_stats(item, identity)).reset_time
                raise RateLimited(
                    f"rate limit of {item} exceeded: slow down and retry after the pause",
                    retry_after_s=max(1.0, math.ceil(reset - time.time())),
                )

    async def admit(self, scope: Scope, headers: dict[bytes, bytes] | None = None) -> None:
        """Let the request in, or raise its 401/429; ``scope["client_id"]`` becomes the
        key's id when keys are on. ``headers``: the scope's, by name, when already read."""
        identity = "ip:" + scope.get("client_address", "unknown")
        if self.keys.enabled:
            try:
                given = self._given_key(headers if headers is not None else dict(scope["headers"]))
                identity = self.keys.check(given)
            except Unauthorized:
                # A refused request still counts against its client's address, before the
                # 401 goes out: a burst of guessed keys ends in 429, not in a free oracle
                # answering every guess.
                if self.limiter is not None:
                    await self._check_rate(identity)
                raise
            scope["client_id"] = identity
        if self.limiter is not None:
            await self._check_rate(identity)


class AccessMiddleware:
    """API keys and rate limits (:class:`AccessGate`); open paths (health, metrics, docs)
    skip both."""

    def __init__(self, app: ASGIApp, *, gate: AccessGate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.gate.open_paths:
            await self.app(scope, receive, send)
            return
        try:
            await self.gate.admit(scope)
        except ToolkitError as exc:
            await send_error(send, *error_parts(exc))
            return
        await self.app(scope, receive, send)
