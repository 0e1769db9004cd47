"""A bounded load generator: a fixed number of requests, a fixed concurrency, every
outcome recorded, and a hook that fires once when a given number have completed (to kill
or freeze a replica mid-load)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class LoadResult:
    """What the clients saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())

    @property
    def failed(self) -> int:
        """Requests that did not end in a 200: other statuses and transport errors."""
        return self.total - self.statuses[200]

    def summary(self) -> str:
        rate = self.total / self.seconds if self.seconds else 0.0
        return (
            f"{self.total} requests in {self.seconds:.1f} s ({rate:.0f}/s): "
            f"statuses {dict(self.statuses)}, errors {dict(self.errors)}"
        )


def run_load(
    url: str,
    body: dict[str, Any],
    *,
    total: int,
    concurrency: int,
    at: int | None = None,
    hook: Callable[[], None] | None = None,
    timeout_s: float = 30.0,
) -> LoadResult:
    """POST ``body`` to ``url`` ``total`` times from ``concurrency`` clients."""
    return asyncio.run(
        _run(url, body, total=total, concurrency=concurrency, at=at, hook=hook, timeout_s=timeout_s)
    )


async def _run(
    url: str,
    body: dict[str, Any],
    *,
    total: int,
    concurrency: int,
    at: int | None,
    hook: Callable[[], None] | None,
    timeout_s: float,
) -> LoadResult:
    result = LoadResult()
    issued = 0
    done = 0
    fired = False
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal issued, done, fired
        while issued < total:
            issued += 1
            try:
                response = await http.post(url, json=body)
                result.statuses[response.status_code] += 1
            except httpx.HTTPError as exc:
                result.errors[type(exc).__name__] += 1
            done += 1
            if hook is not None and at is not None and not fired and done >= at:
                fired = True
                hook()

    started = time.perf_counter()
    async with httpx.AsyncClient(limits=limits, timeout=timeout_s) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result
