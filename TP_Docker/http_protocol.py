"""uvicorn's HTTP protocol with the two guards it lacks: a read timeout and a connection cap.

uvicorn arms no timer on a new connection (its keep-alive timer starts only after a first
response), so a client that connects and never sends, or sends half its headers or half
its body, holds a file descriptor for ever: 20,000 such connections exhausted this
machine's descriptors and liveness stopped answering. This protocol:

- closes a connection whose request (headers and body) is not complete
  ``request_read_timeout_s`` after the connection opened or the request began;
- caps open connections at ``max_connections``: past it, the connection idle the longest
  (no request being handled) is closed to make room, so new clients, probes included,
  still get in while the flood is being reaped.

It also writes each response's head and body in one system call (:class:`CoalescingTransport`):
uvicorn writes the status line and headers as soon as the app starts its answer, then the
body, and the first of those two socket writes was the largest single line in a
``py-spy --gil`` profile of the serving process under load.

The limits come from the API settings (``API_REQUEST_READ_TIMEOUT_S``, ``API_MAX_CONNECTIONS``)
and are on by default. ``python TP_Docker/app.py`` (and the image) use this protocol; so
does ``uvicorn TP_Docker.app:app --http TP_Docker.http_protocol:GuardedHttpToolsProtocol``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger("TP_Docker.http")


class CoalescingTransport:
    """A transport that holds a response's head until its body comes, and writes both at
    once. Everything but ``write`` and ``close`` goes to the wrapped transport.

    A head is a write starting with ``HTTP/1.1`` (what uvicorn writes at
    ``http.response.start``) other than an interim ``100 Continue``, which must reach the
    client before it sends the body. The next write, or closing, lets the head out.
    """

    __slots__ = ("_head", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.writelines((head, data))
        elif data[:9] == b"HTTP/1.1 " and data[9:13] != b"100 ":
            self._head = bytes(data)
        else:
            self._transport.write(data)

    def close(self) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head)
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """See the module docstring. Limits are class attributes set by :func:`configure`."""

    read_timeout_s: float = 10.0
    max_connections: int = 4096
    configured = False
    """False in a uvicorn worker process started by ``--workers``: the limits are then read
    from the ``API_*`` environment at the first connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not GuardedHttpToolsProtocol.configured:
            _configure_from_environment()
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None
        self._handling = False
        self._last_active = time.monotonic()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = CoalescingTransport(transport)  # type: ignore[assignment]
        if len(self.connections) > self.max_connections:
            self._evict_idle()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._last_active = time.monotonic()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        self._handling = True
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self._handling = False
        self._last_active = time.monotonic()
        super().on_response_complete()

    def _arm(self) -> None:
        if self._read_timer is None:
            self._read_timer = self.loop.call_later(self.read_timeout_s, self._read_timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _evict_idle(self) -> None:
        """Close the connection that has waited longest without a request in progress."""
        idle = [
            c
            for c in self.connections
            if c is not self and isinstance(c, GuardedHttpToolsProtocol) and not c._handling
        ]
        if not idle:
            return
        oldest = min(idle, key=lambda c: c._last_active)
        if not oldest.transport.is_closing():
            oldest.transport.close()


def configure(*, read_timeout_s: float, max_connections: int) -> type[GuardedHttpToolsProtocol]:
    """Set the limits (from the API settings) and return the protocol class for uvicorn."""
    GuardedHttpToolsProtocol.read_timeout_s = read_timeout_s
    GuardedHttpToolsProtocol.max_connections = max_connections
    GuardedHttpToolsProtocol.configured = True
    return GuardedHttpToolsProtocol


def _configure_from_environment() -> None:
    from TP_Docker.settings import Settings
    from utils.settings_loading import load_settings

    settings = load_settings(Settings)
    configure(
        read_timeout_s=settings.request_read_timeout_s, max_connections=settings.max_connections
    )
