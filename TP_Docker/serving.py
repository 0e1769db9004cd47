"""Everything one app instance serves with: repository, scheduler, cache, metrics.

Built by ``create_app`` and kept on ``app.state.serving``; the lifespan calls
:meth:`Serving.start` (models load in a background thread, so the server answers
``/v2/health/live`` at once and ``/v2/health/ready`` turns 200 when models are in) and
:meth:`Serving.stop` (refuse new work, drain queued requests, stop the threads).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from numpy.typing import NDArray

from TP_Docker.settings import Settings
from utils.deployment_helpers import (
    InferenceScheduler,
    ModelRepository,
    ResponseCache,
    ServedModel,
)
from utils.deployment_helpers.cache import feed_key
from utils.errors import BadInput, IntegrityError, ModelNotReady
from utils.monitoring.logging import AccessLog
from utils.monitoring.metrics import ServingMetrics

logger = logging.getLogger(__name__)


class Serving:
    """The serving core wired for one app, plus its life cycle."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = ServingMetrics()
        self.repository = ModelRepository(
            settings.model_repository,
            intra_op_threads=settings.intra_op_threads,
            strict_readiness=settings.strict_readiness,
        )
        self.executor = ThreadPoolExecutor(
            max_workers=settings.inference_threads, thread_name_prefix="onnxruntime"
        )
        self.scheduler = InferenceScheduler(
            self.executor,
            batching=settings.batching,
            max_queue_size=settings.max_queue_size,
            max_batch_size=settings.max_batch_size,
            max_in_flight=settings.batches_in_flight,
            on_batch=lambda m, rows: self.metrics.observe_batch(m.name, str(m.version), rows),
        )
        self.caches: dict[str, ResponseCache] = {}
        """One LRU of ``API_CACHE_SIZE`` entries per model whose config.pbtxt enables
        Triton's ``response_cache``; models without the block are never cached."""
        json_lines = settings.log_json if settings.log_json is not None else not sys.stderr.isatty()
        self.access_log = (
            AccessLog(json_lines=json_lines, logger_name="TP_Docker.access")
            if settings.access_log
            else None
        )
        self.draining = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loading: asyncio.Task[None] | None = None
        self.metrics.watch_queues(self._queue_depths)
        self.repository.add_swap_listener(self._on_swap)

    def _queue_depths(self) -> Iterable[tuple[str, str, int]]:
        for model in self.repository.loaded():
            yield model.name, str(model.version), self.scheduler.queue_depth(model)

    def _on_swap(self, name: str, retired: list[ServedModel]) -> None:
        """Called from the loading thread: hand the retirement over to the event loop."""
        for model in retired:
            self.metrics.set_model_unloaded(model.name, str(model.version))
        self._record_loaded(name)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.scheduler.retire, retired)

    def _record_loaded(self, name: str | None = None) -> None:
        models = self.repository.versions(name) if name else self.repository.loaded()
        for model in models:
            self.metrics.set_model_loaded(model.name, str(model.version), model.load_seconds)

    @property
    def ready(self) -> bool:
        """Models loaded and not shutting down (what /v2/health/ready reports)."""
        return self.repository.ready and not self.draining

    async def start(self) -> None:
        """Start loading every model in a worker thread; return at once."""
        self._loop = asyncio.get_running_loop()
        self._loading = asyncio.create_task(self._load_all())

    async def _load_all(self) -> None:
        await asyncio.to_thread(self.repository.load_all)
        self._record_loaded()
        # Everything alive now (modules, sessions, routes) lives as long as the process:
        # keep it out of the garbage collector's full passes, which otherwise walk it all
        # and show up as multi-millisecond pauses in the p99 latency.
        gc.freeze()
        logger.info(
            "models ready",
            extra={"models": [f"{m.name}/{m.version}" for m in self.repository.loaded()]},
        )

    async def wait_loaded(self) -> None:
        """Wait for the start-up load (tests and the in-process users call it)."""
        if self._loading is not None:
            await self._loading

    async def reload(self, name: str) -> None:
        """Hot (re)load one model off the event loop; the swap retires the old versions."""
        try:
            await asyncio.to_thread(self.repository.load, name)
        except IntegrityError as exc:
            # A refused file is the admin's request failing (Triton answers 400 too),
            # not a server fault: the versions in service keep serving.
            raise BadInput(f"model {name!r} was not loaded: {exc}") from None
        self._record_loaded(name)

    async def unload(self, name: str) -> None:
        """Take a model out of service; queued requests finish on it."""
        await asyncio.to_thread(self.repository.unload, name)

    async def infer(self, model: ServedModel, feed: dict[str, NDArray[Any]]) -> dict[str, Any]:
        """Run a validated feed, through the cache when it is on."""
        if self.draining:
            raise ModelNotReady("the server is shutting down: retry on another replica")
        cache = self.cache_for(model)
        if cache is None:
            return await self.scheduler.infer(model, feed)
        key = feed_key(model, feed)
        cached = cache.get(key)
        if cached is not None:
            return cached
        outputs = await self.scheduler.infer(model, feed)
        cache.put(key, outputs)
        return outputs

    def cache_for(self, model: ServedModel) -> ResponseCache | None:
        """The model's response cache, or None (no ``response_cache`` block, or size 0).

        Per model, as in Triton: a model whose answers are worth caching (a demo page's
        repeated digits) does not evict the entries of another, and a model whose inputs
        are always unique pays no hashing.
        """
        if self.settings.cache_size == 0 or not model.batching.response_cache:
            return None
        cache = self.caches.get(model.name)
        if cache is None:
            cache = self.caches.setdefault(model.name, ResponseCache(self.settings.cache_size))
        return cache

    async def stop(self) -> None:
        """Refuse new work, let queued requests finish (bounded), stop the threads."""
        self.draining = True
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        try:
            await asyncio.wait_for(self.scheduler.shutdown(), self.settings.drain_timeout_s)
        except TimeoutError:
            logger.warning("drain timed out", extra={"timeout_s": self.settings.drain_timeout_s})
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.access_log is not None:
            self.access_log.close()
