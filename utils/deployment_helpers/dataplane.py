"""The data plane: the one request path of every front end, framework-free.

MLServer's ``DataPlane`` and KServe's model server are the shapes: HTTP stays in the
front ends (FastAPI app, Flask app, Vercel function, CLIs), which read a request, call
one door here and render what comes back. The data plane owns the model repository, the
scheduler (dynamic batching), the response caches, drain on reload and shutdown,
per-request observation (metrics, prediction log, drift) and the task kinds (the pre-
and post-processing of each kind of model). So every front end gets batching, the cache,
the same metrics, the same request ids and the same errors, from one implementation.

Two doors:
- async (``await plane.infer_v2(...)``, ``predict``, ``predict_upload``, ``detect``,
  ``similarity``),
  for the FastAPI app and the Vercel function, on the caller's event loop;
- sync (``plane.call(plane.predict(...))``), for Flask and scripts: the coroutine runs on
  a loop the plane owns in a background thread (:meth:`start_background`), so Flask's
  threads share one batcher per model.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import re
import threading
import time
from collections.abc import Awaitable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from utils.deployment_helpers.batching import InferenceScheduler
from utils.deployment_helpers.cache import ResponseCache, feed_key
from utils.deployment_helpers.codec import decode_request, encode_response
from utils.deployment_helpers.manifest import Manifest, read_manifest
from utils.deployment_helpers.memory import bound_allocator
from utils.deployment_helpers.observation import Observation, Observer, RequestContext
from utils.deployment_helpers.repository import (
    LoadReport,
    ModelRepository,
    ModelState,
    check_model_name,
    parse_version,
)
from utils.deployment_helpers.served_model import ServedModel
from utils.deployment_helpers.tasks import (
    Feed,
    UploadLimits,
    cosine_matrix,
    input_kind_of,
    task_kind_of,
    token_limits,
)
from utils.deployment_helpers.tasks.embedding import vectors
from utils.deployment_helpers.tasks.inputs import Text
from utils.deployment_helpers.triton_config import config_dict
from utils.errors import BadInput, ModelNotFound, ModelNotReady, UnsupportedMediaType
from utils.monitoring.metrics import ServingMetrics

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_SIMILARITY_SENTENCES = 8
"""Sentences compared at once: an 8x8 matrix still reads at a glance."""

JSON_HEADERS = {"content-type": "application/json"}


@dataclass(frozen=True)
class DataPlaneSettings:
    """What the data plane needs from an app's settings (each app maps its own onto it)."""

    model_repository: Path
    intra_op_threads: int = 1
    """onnxruntime threads per session: 1 suits many small concurrent requests."""
    inference_threads: int = 2
    """Worker threads running onnxruntime calls (an event loop never runs one)."""
    batching: bool = True
    """Dynamic batching per model (limits from each config.pbtxt)."""
    max_batch_size: int | None = None
    """Caps every model's batch size when set."""
    batches_in_flight: int = 2
    """onnxruntime calls one model may run at once."""
    max_queue_size: int = 256
    """Requests waiting per model; one more is refused with 503 + Retry-After."""
    strict_readiness: bool = True
    """Ready only when every model has a READY version (Triton's default)."""
    cache_size: int = 0
    """Entries of each response cache (models whose config.pbtxt enables it); 0: off."""
    drain_timeout_s: float = 10.0
    """On shutdown, how long queued requests may take to finish."""
    models: tuple[str, ...] = ()
    """Models to load at start; empty: every model of the repository."""
    default_model: str = ""
    """Model a plain request that names none goes to; empty: the only model served, if
    there is exactly one."""
    max_upload_bytes: int = 8 * 1024 * 1024
    """Largest image upload decoded."""
    max_image_pixels: int = 4096 * 4096
    """Largest decoded image (width x height)."""
    default_detector: str = "digits_detector"
    """Model :meth:`DataPlane.detect` uses when a request names none."""


@dataclass(frozen=True)
class ModelEntry:
    """One version the repository knows, ready or not, as selectors and catalogues list it."""

    name: str
    version: int
    state: str
    reason: str
    task: str
    input_kind: str
    widget: str
    variant: str
    size_bytes: int | None
    metrics: dict[str, float]
    labels: list[str]
    feature_names: list[str]

    @property
    def ready(self) -> bool:
        return self.state == "READY"

    @property
    def accuracy(self) -> float | None:
        """The version's recorded accuracy, when its manifest has one."""
        return self.metrics.get("accuracy")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "state": self.state,
            "reason": self.reason,
            "task": self.task,
            "input_kind": self.input_kind,
            "widget": self.widget,
            "variant": self.variant,
            "size_bytes": self.size_bytes,
            "accuracy": self.accuracy,
            "metrics": self.metrics,
            "labels": self.labels,
            "feature_names": self.feature_names,
        }


class DataPlane:
    """See the module docstring."""

    def __init__(
        self,
        settings: DataPlaneSettings,
        *,
        metrics: ServingMetrics | None = None,
        observers: Iterable[Observer] = (),
    ) -> None:
        bound_allocator()  # a large request's memory goes back to the system (memory.py)
        self.settings = settings
        self.metrics = metrics if metrics is not None else ServingMetrics()
        self.observers: list[Observer] = list(observers)
        self.repository = ModelRepository(
            settings.model_repository,
            intra_op_threads=settings.intra_op_threads,
            strict_readiness=settings.strict_readiness,
            token_limits=token_limits,
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
        self.upload_limits = UploadLimits(settings.max_upload_bytes, settings.max_image_pixels)
        self.caches: dict[str, ResponseCache] = {}
        self.draining = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._loading: asyncio.Task[None] | None = None
        self._manifests: dict[str, Manifest | None] = {}
        self.metrics.watch_queues(self._queue_depths)
        self.repository.add_swap_listener(self._on_swap)

    # -- life cycle ---------------------------------------------------------------------
    def load_models(self) -> None:
        """Load the configured models (every model when none is named), blocking.

        One bad model, or one bad version, is logged and UNAVAILABLE; the rest serve.
        """
        if not self.settings.models:
            self.repository.load_all()
        else:
            for name in self.settings.models:
                try:
                    self.repository.load(name)
                except Exception as exc:
                    logger.error("model not loaded", extra={"model": name, "reason": str(exc)})
            self.repository.loaded_once = True
        self._record_loaded()
        logger.info(
            "models ready",
            extra={"models": [f"{m.name}/{m.version}" for m in self.repository.loaded()]},
        )

    async def start(self) -> None:
        """Bind to the running loop and load the models in a thread; return at once (the
        server answers liveness now and readiness once models are in)."""
        self._loop = asyncio.get_running_loop()
        self._loading = asyncio.create_task(self._load_then_freeze())

    async def _load_then_freeze(self) -> None:
        await asyncio.to_thread(self.load_models)
        # Everything alive now (modules, sessions, routes) lives as long as the process:
        # keep it out of the garbage collector's full passes, which otherwise walk it all
        # and show up as multi-millisecond pauses in the p99 latency.
        gc.freeze()

    def start_background(self) -> None:
        """The sync door's set-up: load the models now (blocking), then run the plane's own
        event loop in a daemon thread for :meth:`call`."""
        self.load_models()
        self.scheduler.run_inline = True  # this loop serves no sockets (batching.py)
        loop = _new_event_loop()
        self._loop = loop
        self._loop_thread = threading.Thread(
            target=loop.run_forever, name="data-plane-loop", daemon=True
        )
        self._loop_thread.start()

    def call(self, awaitable: Awaitable[T], timeout_s: float | None = 60.0) -> T:
        """The sync door: run one of the async doors on the plane's loop and wait for it."""
        if self._loop is None or self._loop_thread is None:
            raise RuntimeError("call start_background() before using the sync door")
        future = asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), self._loop)
        return future.result(timeout_s)

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

    def stop_background(self) -> None:
        """Stop the sync door's loop after draining (Flask at exit, tests)."""
        if self._loop is None or self._loop_thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), self._loop).result(
            self.settings.drain_timeout_s + 5
        )
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop_thread.join(timeout=5)
        self._loop_thread = None

    @property
    def ready(self) -> bool:
        """Models loaded and not shutting down (what readiness probes report)."""
        return self.repository.ready and not self.draining

    def not_ready_reason(self) -> str:
        """Why :attr:`ready` is False ("" when ready)."""
        if self.draining:
            return "shutting down"
        return self.repository.not_ready_reason()

    # -- control ------------------------------------------------------------------------
    async def load(self, name: str) -> LoadReport:
        """Hot (re)load one model off the event loop; the swap retires the old versions.

        :raise BadInput: a version was refused (its reason; a verified copy keeps serving
            when there was one), or no version could load.
        """
        try:
            report = await asyncio.to_thread(self.repository.load, name)
        except (ModelNotFound, BadInput):
            raise
        except Exception as exc:
            # A refused file is the admin's request failing (Triton answers 400 too), not
            # a server fault: the versions in service keep serving.
            raise BadInput(f"model {name!r} was not loaded: {exc}") from None
        finally:
            self._manifests.pop(name, None)
        self._record_loaded(name)
        if report.refused:
            raise BadInput(report.refusal_message())
        return report

    async def unload(self, name: str) -> None:
        """Take a model out of service; queued requests finish on it."""
        await asyncio.to_thread(self.repository.unload, name)
        self._manifests.pop(name, None)

    def _on_swap(self, name: str, retired: list[ServedModel]) -> None:
        """Called from the loading thread: hand the retirement over to the event loop."""
        for model in retired:
            self.metrics.set_model_unloaded(model.name, str(model.version))
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.scheduler.retire, retired)

    def _record_loaded(self, name: str | None = None) -> None:
        models = self.repository.versions(name) if name else self.repository.loaded()
        for model in models:
            self.metrics.set_model_loaded(model.name, str(model.version), model.load_seconds)

    def _queue_depths(self) -> Iterable[tuple[str, str, int]]:
        for model in self.repository.loaded():
            yield model.name, str(model.version), self.scheduler.queue_depth(model)

    # -- metadata -----------------------------------------------------------------------
    def model(self, name: str, version: object = None) -> ServedModel:
        """The served version for a client's model name and version (None: latest).

        :raise ModelNotFound: an impossible name or version, or an unknown one (404).
        :raise ModelNotReady: known but not serving (503).
        """
        return self.repository.get(check_model_name(name), parse_version(name, version))

    def index(self) -> list[ModelState]:
        """Every model and version with its state."""
        return self.repository.index()

    def model_metadata(self, name: str, version: object = None) -> dict[str, Any]:
        """v2 model metadata: the signature clients send (text models take ``text``),
        the versions in service, and the reason of every version that is not."""
        model = self.model(name, version)
        task = task_kind_of(model.manifest)
        inputs = [s.model_dump() for s in model.manifest.inputs]
        if model.manifest.preprocessing.kind == "text":
            inputs = [{"name": "text", "datatype": "BYTES", "shape": [-1]}, *inputs]
        unavailable = {
            str(s.version): s.reason
            for s in self.repository.states(model.name)
            if s.state != "READY"
        }
        versions = (
            [m.version for m in self.repository.versions(name)]
            if version is None
            else [model.version]
        )
        parameters: dict[str, Any] = {
            "version": str(model.version),
            "task": model.manifest.task,
            "input_kind": model.manifest.preprocessing.kind,
            "labels": model.manifest.labels,
            "max_batch_size": model.batching.max_batch_size,
            "variant": model.variant,
        }
        if model.manifest.preprocessing.feature_names:
            parameters["feature_names"] = model.manifest.preprocessing.feature_names
        if unavailable:
            parameters["unavailable_versions"] = unavailable
        return {
            "name": model.name,
            "versions": [str(v) for v in versions],
            "platform": "onnxruntime_onnx",
            "inputs": inputs,
            "outputs": [s.model_dump() for s in task.v2_outputs(model.manifest)],
            "parameters": parameters,
        }

    def model_config(self, name: str, version: object = None) -> dict[str, Any]:
        """Triton's model configuration as JSON, from the same source as config.pbtxt."""
        model = self.model(name, version)
        config = config_dict(model.manifest, model.batching)
        config["backend"] = "onnxruntime"
        return config

    def catalogue(self) -> list[ModelEntry]:
        """Every version the repository knows, for selectors and ``/api/models``.

        Manifests come from the served models, and are read from disk at most once per
        model that is not serving (until its next load): a page view reads no file.
        """
        entries = []
        for state in self.repository.index():
            manifest = self._manifest(state.name)
            info = manifest.versions.get(str(state.version)) if manifest else None
            kind = input_kind_of(manifest) if manifest else None
            entries.append(
                ModelEntry(
                    name=state.name,
                    version=state.version,
                    state=state.state,
                    reason=state.reason,
                    task=manifest.task if manifest else "",
                    input_kind=manifest.preprocessing.kind if manifest else "",
                    widget=kind.widget if kind else "",
                    variant=info.variant if info else "",
                    size_bytes=info.size_bytes if info else None,
                    metrics=dict(info.metrics) if info else {},
                    labels=list(manifest.labels) if manifest else [],
                    feature_names=list(manifest.preprocessing.feature_names) if manifest else [],
                )
            )
        return entries

    def _manifest(self, name: str) -> Manifest | None:
        served = self.repository.versions(name)
        if served:
            return served[-1].manifest
        if name not in self._manifests:
            try:
                self._manifests[name] = read_manifest(self.repository.root / name)
            except BadInput:
                self._manifests[name] = None
        return self._manifests[name]

    # -- inference --------------------------------------------------------------------
    def observe(self, context: RequestContext) -> Observation:
        """The observation every door wraps its work in (see ``observation.py``)."""
        return Observation(self.metrics, self.observers, context)

    async def run(self, model: ServedModel, feed: Feed) -> Feed:
        """Run a validated feed: through the model's cache when on, else the scheduler."""
        if self.draining:
            raise ModelNotReady("the server is shutting down: retry on another replica")
        cache = self._cache_for(model)
        if cache is None:
            return await self.scheduler.infer(model, feed)
        key = feed_key(model, feed)
        cached = cache.get(key)
        if cached is not None:
            return cached
        outputs = await self.scheduler.infer(model, feed)
        cache.put(key, outputs)
        return outputs

    def _cache_for(self, model: ServedModel) -> ResponseCache | None:
        """Per model, as in Triton: only models whose config.pbtxt enables it."""
        if self.settings.cache_size == 0 or not model.batching.response_cache:
            return None
        cache = self.caches.get(model.name)
        if cache is None:
            cache = self.caches.setdefault(model.name, ResponseCache(self.settings.cache_size))
        return cache

    async def infer_v2(
        self,
        name: str,
        version: str | None,
        body: bytes,
        *,
        content_type: str | None,
        header_length: str | None,
        context: RequestContext,
    ) -> tuple[bytes, dict[str, str]]:
        """Open Inference Protocol v2 infer: JSON tensors or the binary extension.

        Returns the response body and its headers; raises ToolkitError for every refusal.
        """
        with self.observe(context) as observed:
            model = self.model(name, version)
            observed.served = model
            _check_v2_content_type(content_type)
            binary: memoryview | None = None
            if header_length is not None:
                if (
                    not header_length.isascii()
                    or not header_length.isdigit()
                    or len(header_length) > 12
                    or int(header_length) > len(body)
                ):
                    raise BadInput(
                        f"Inference-Header-Content-Length {header_length[:20]!r} is not a byte "
                        f"count within the {len(body)}-byte body"
                    )
                binary = memoryview(body)[int(header_length) :]
                body = body[: int(header_length)]
            request = decode_request(_parse_json(body), binary)
            inputs = request.inputs
            if "text" in inputs and model.manifest.preprocessing.kind == "text":
                inputs = _tokenize_text_tensor(model, inputs)
            feed = model.validate(inputs)
            observed.feed = feed
            outputs = await self.run(model, feed)
            task = task_kind_of(model.manifest)
            derived = task.derive(model.manifest, outputs)
            if derived:
                outputs = {**outputs, **derived}
            observed.outputs = outputs
            header, blobs = encode_response(model.name, model.version, outputs, request)
        head = orjson.dumps(header)
        if not blobs:
            return head, JSON_HEADERS
        return b"".join([head, *blobs]), {
            "content-type": "application/octet-stream",
            "inference-header-content-length": str(len(head)),
        }

    async def predict(
        self, body: bytes | Any, context: RequestContext, *, content_type: str | None = None
    ) -> dict[str, Any]:
        """Plain JSON: ``{"model": name, "version": n (optional), "inputs": ...}``, the
        inputs in the form the model's input kind takes (see ``tasks/inputs.py``).

        Answers labels and probabilities, values, forecasts, flags... per row (the model's
        task kind), with the request id, the model, version and variant, and the latency.
        """
        with self.observe(context) as observed:
            _check_json_content_type(content_type)
            fields = _parse_json(body) if isinstance(body, bytes | bytearray) else body
            if not isinstance(fields, dict):
                raise BadInput(
                    'the body must be a JSON object: {"model": "<name>", "inputs": [...]}'
                )
            model = self.model(self._model_name(fields), fields.get("version"))
            observed.served = model
            if "inputs" not in fields:
                got = ", ".join(repr(k) for k in fields) or "none"
                raise BadInput(
                    f"missing field 'inputs' (fields received: {got}): model {model.name!r} "
                    f"takes {input_kind_of(model.manifest).describe(model)}"
                )
            kind = input_kind_of(model.manifest)
            feed = model.validate(kind.feed_from_json(model, fields["inputs"]))
            return await self._answer(model, feed, observed)

    async def predict_upload(
        self,
        name: str | None,
        version: object,
        data: bytes,
        context: RequestContext,
        *,
        task: str | None = None,
    ) -> dict[str, Any]:
        """An uploaded file (a photo, a canvas drawing) for a model that takes images.

        The model is resolved first, so an unknown model is reported as such even when the
        file is also bad. ``task``: refuse (400) a model of another task before decoding.
        """
        with self.observe(context) as observed:
            model = self.model(self._model_name({"model": name} if name else {}), version)
            observed.served = model
            if task is not None and model.manifest.task != task:
                raise BadInput(
                    f"model {model.name!r} is a {model.manifest.task} model, not a {task} one"
                )
            kind = input_kind_of(model.manifest)
            feed, sources = kind.read_upload(model, data, self.upload_limits)
            return await self._answer(model, model.validate(feed), observed, sources)

    async def detect(
        self, name: str | None, version: object, data: bytes, context: RequestContext
    ) -> dict[str, Any]:
        """A picture through a detector (``/api/detect``, ``/detect``): its ``detections``
        left to right, boxes ``[x0, y0, x1, y1]`` in the picture's pixels, and the ``text``
        they read, beside the model facts every answer carries.

        :raise BadInput: the model is not a detector (400), or the picture is bad.
        """
        answer = await self.predict_upload(
            name or self.settings.default_detector, version, data, context, task="detection"
        )
        (found,) = answer.pop("predictions")
        return {**answer, **found}

    async def _answer(
        self,
        model: ServedModel,
        feed: Feed,
        observed: Observation,
        sources: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        observed.feed = feed
        started = time.perf_counter()
        outputs = await self.run(model, feed)
        inference_s = time.perf_counter() - started
        observed.outputs = outputs
        task = task_kind_of(model.manifest)
        if sources:
            answers = task.answer_for(model.manifest, outputs, sources)
        else:
            answers = task.answer(model.manifest, outputs)
        observed.answers = answers
        echoes = input_kind_of(model.manifest).echo(model, feed)
        for answer, echo in zip(answers, echoes, strict=False):
            answer.update(echo)
        return {
            "request_id": observed.context.request_id,
            "model": model.name,
            "version": model.version,
            "variant": model.variant,
            "task": model.manifest.task,
            "input_kind": model.manifest.preprocessing.kind,
            **task.summary(model.manifest),
            "latency_ms": round((time.perf_counter() - observed.started) * 1000.0, 3),
            "inference_ms": round(inference_s * 1000.0, 3),
            "predictions": answers,
        }

    async def similarity(
        self, name: str | None, version: object, sentences: Any, context: RequestContext
    ) -> dict[str, Any]:
        """Cosine similarity of every pair of sentences, embedded by a text model."""
        with self.observe(context) as observed:
            model = self.model(self._model_name({"model": name} if name else {}), version)
            observed.served = model
            if model.manifest.preprocessing.kind != "text" or model.manifest.task != "embedding":
                raise BadInput(f"model {model.name!r} does not embed text")
            if not isinstance(sentences, list):
                raise BadInput('send the sentences as a list: {"sentences": ["a", "b"]}')
            cleaned = [s.strip() for s in sentences if isinstance(s, str) and s.strip()]
            if len(cleaned) < 2:
                raise BadInput("type at least two sentences, one per line, to compare them")
            if len(cleaned) > MAX_SIMILARITY_SENTENCES:
                raise BadInput(
                    f"{len(cleaned)} sentences; compare at most {MAX_SIMILARITY_SENTENCES} at once"
                )
            feed = model.validate(Text().tokenize(model, cleaned))
            observed.feed = feed
            outputs = await self.run(model, feed)
            observed.outputs = outputs
            matrix = cosine_matrix(vectors(model.manifest, outputs))
            return {
                "request_id": context.request_id,
                "model": model.name,
                "version": model.version,
                "variant": model.variant,
                "sentences": cleaned,
                "matrix": [[round(float(v), 4) for v in row] for row in matrix],
                "latency_ms": round((time.perf_counter() - observed.started) * 1000.0, 3),
            }

    def _model_name(self, fields: dict[str, Any]) -> str:
        """The model a plain request names; when it names none, the configured default, or
        the only model served. :raise BadInput: not a string, or none named among several."""
        name = fields.get("model")
        if name is None and self.settings.default_model:
            return self.settings.default_model
        if name is None:
            served = sorted({m.name for m in self.repository.loaded()})
            if len(served) == 1:
                return served[0]
            raise BadInput(
                f"missing field 'model': name one of {', '.join(served) or 'none (none is loaded)'}"
            )
        if not isinstance(name, str):
            raise BadInput("'model' must be a model name (a string)")
        return name


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """The sync door's loop: uvloop's, as under the API's uvicorn, where it is installed.

    Every sync call wakes this loop from another thread and waits for its answer; uvloop
    does that hand-over in C, where asyncio's own loop runs Python for it, and a Flask
    worker's threads share one interpreter lock with this loop (``make bench-serve``'s
    ``ours_flask`` row). asyncio's loop stands in where uvloop does not install (Windows).
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in requirements.txt on Linux
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


_NON_FINITE = re.compile(r"-?(?:NaN|Infinity)\b")
"""What Python's ``json.dumps`` (and so ``requests.post(json=...)``) writes for a float
that JSON cannot hold."""


def _parse_json(body: bytes | bytearray | memoryview) -> Any:
    """orjson, with its depth limit: a 5,000-deep nesting is a 400, never a RecursionError.

    A body that fails only on ``NaN`` or ``Infinity`` (a student's row with a missing
    value, sent from Python) is read again with the standard library, so the model's own
    check refuses the value saying what the model takes; orjson alone answered
    "unexpected character ... (char 52)".
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        refusal = BadInput(f"the body is not valid JSON: {exc}")
        if not (_NON_FINITE.match(exc.doc, exc.pos) or _NON_FINITE.match(exc.doc, exc.pos - 1)):
            raise refusal from None
    try:
        return json.loads(bytes(body))
    except (ValueError, RecursionError):
        raise refusal from None


def _media_type(content_type: str | None) -> str | None:
    return None if content_type is None else content_type.split(";", 1)[0].strip().lower()


def _check_json_content_type(content_type: str | None) -> None:
    """Plain-JSON doors take JSON (415, saying which header to set, for anything else)."""
    media = _media_type(content_type)
    if media is None or media == "application/json" or media.endswith("+json"):
        return
    raise UnsupportedMediaType(
        f"Content-Type {media!r} is not accepted: send JSON with 'Content-Type: application/json'"
    )


def _check_v2_content_type(content_type: str | None) -> None:
    """v2 bodies are JSON, or JSON + binary tensors (415 for anything else)."""
    if _media_type(content_type) != "application/octet-stream":
        _check_json_content_type(content_type)


def _tokenize_text_tensor(model: ServedModel, inputs: Feed) -> Feed:
    """A text model's ``text`` BYTES tensor [N] -> its token inputs (tokenizer here)."""
    text = inputs["text"]
    others = [n for n in inputs if n != "text"]
    if others:
        raise BadInput(f"send either 'text' or the token inputs, not both (got {others})")
    if text.dtype != object:
        raise BadInput("input 'text' must be a BYTES tensor of UTF-8 strings, shape [N]")
    if text.ndim != 1:
        raise BadInput(
            f"input 'text' must have shape [N] (one string a row), got {list(text.shape)}"
        )
    sentences = []
    for item in text:
        try:
            sentences.append(item.decode("utf-8") if isinstance(item, bytes) else str(item))
        except UnicodeDecodeError:
            raise BadInput("input 'text' holds bytes that are not UTF-8 text") from None
    return Text().tokenize(model, sentences)
