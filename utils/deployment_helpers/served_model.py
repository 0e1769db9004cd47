"""One model version, ready to answer: a verified file, an onnxruntime session, a signature.

A :class:`ServedModel` is immutable once built; a hot reload builds a new one and swaps
the reference (see ``repository.py``), so a request that holds the old one finishes on
it. ``InferenceSession.run`` is thread-safe, so one instance serves every thread.

A version is only served once it has proved itself at load (Triton refuses a model whose
warm-up fails): the file's sha256 matches the manifest, onnxruntime opens it, its inputs
and outputs are the manifest's, and one warm-up run gives outputs whose ranks and fixed
dimensions are the manifest's. Anything else makes that version UNAVAILABLE with the
reason, without touching the other versions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from utils import runtime
from utils.deployment_helpers.codec import DATATYPE_TO_NUMPY
from utils.deployment_helpers.manifest import Manifest, TensorSpec
from utils.deployment_helpers.signature import Signature, TokenLimits
from utils.deployment_helpers.triton_config import BatchingConfig, read_batching
from utils.errors import BadInput, IntegrityError, ModelLoadError
from utils.io import sha256_file

logger = logging.getLogger(__name__)


def session_options(intra_op_threads: int, *, memory_arena: bool = True) -> ort.SessionOptions:
    """The project's session options (:mod:`utils.runtime`: CPU, no spinning) with a
    bounded memory peak for a server.

    ``memory_arena=False`` for models whose inputs vary in more than the batch (text):
    onnxruntime's arena keeps the largest request's buffers for ever (one [32, 512]-token
    MiniLM call left 1.1 GB of RSS behind); without it, the buffers go back to the
    allocator after each call.
    """
    options = runtime.session_options(threads=intra_op_threads)
    options.enable_cpu_mem_arena = memory_arena
    options.enable_mem_pattern = memory_arena
    return options


def varies_beyond_batch(manifest: Manifest) -> bool:
    """True when an input has a dynamic dimension other than the batch (token sequences)."""
    return any(-1 in spec.shape[1:] for spec in manifest.inputs)


class ServedModel:
    """A loaded model version: ``predict`` validates then runs; ``run`` trusts its caller."""

    def __init__(
        self,
        manifest: Manifest,
        version: int,
        session: ort.InferenceSession,
        batching: BatchingConfig,
        *,
        path: Path,
        token_limits: TokenLimits | None = None,
        load_seconds: float = 0.0,
    ) -> None:
        self.manifest = manifest
        self.name = manifest.name
        self.version = version
        self.session = session
        self.batching = batching
        self.path = path
        self.load_seconds = load_seconds
        self.variant = manifest.version(version).variant
        self.signature = Signature(
            model=manifest.name,
            inputs=tuple(manifest.inputs),
            max_batch_size=batching.max_batch_size,
            tokens=token_limits,
        )
        self.output_names = [o.name for o in manifest.outputs]

    def __repr__(self) -> str:
        return f"ServedModel({self.name!r}, version={self.version})"

    def validate(self, inputs: Mapping[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        """Check inputs against the signature (:raise BadInput: saying what to send)."""
        return self.signature.validate(inputs)

    def run(self, feed: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        """Run onnxruntime on an already validated feed; blocking, thread-safe."""
        results = self.session.run(self.output_names, feed)
        return dict(zip(self.output_names, results, strict=True))

    def predict(self, inputs: Mapping[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        """Validate then run, in the caller's thread (scripts; servers go through the
        data plane, which adds batching, the cache and observation)."""
        return self.run(self.validate(inputs))

    def warm_up(self) -> dict[str, NDArray[Any]]:
        """Run one row of zeros, so the first real request does not pay for allocation;
        returns the outputs, which :func:`load_served_model` checks against the manifest."""
        feed = {s.name: _zeros(s) for s in self.manifest.inputs}
        return self.run(feed)


def _zeros(spec: TensorSpec) -> NDArray[Any]:
    shape = [1 if d < 0 else d for d in spec.shape]
    if spec.datatype == "BYTES":
        return np.array([b""] * int(np.prod(shape)), dtype=object).reshape(shape)
    return np.zeros(shape, dtype=DATATYPE_TO_NUMPY[spec.datatype])


def _who(manifest: Manifest, version: int) -> str:
    """How a client-visible message names a version: never by its path on the server."""
    return f"model {manifest.name!r} version {version}"


def _check_session(
    manifest: Manifest, session: ort.InferenceSession, version: int, path: Path
) -> None:
    got_in = {i.name for i in session.get_inputs()}
    got_out = {o.name for o in session.get_outputs()}
    want_in = {s.name for s in manifest.inputs}
    want_out = {s.name for s in manifest.outputs}
    if got_in != want_in or not want_out <= got_out:
        logger.error(
            "model file signature differs from its manifest",
            extra={"model": manifest.name, "version": version, "path": str(path)},
        )
        raise IntegrityError(
            f"{_who(manifest, version)}: the file's inputs {sorted(got_in)} / outputs "
            f"{sorted(got_out)} do not match the manifest's {sorted(want_in)} / "
            f"{sorted(want_out)}; republish the model"
        )


def check_outputs(
    manifest: Manifest, version: int, outputs: Mapping[str, NDArray[Any]], rows: int
) -> None:
    """Refuse a version whose warm-up outputs contradict the manifest's output specs.

    A file published with the wrong manifest ([N, 64] where the manifest says [-1, 10])
    would otherwise load READY, become "latest" and answer nonsense to every client.
    :raise ModelLoadError: rank, a fixed dimension or the batch dimension differs.
    """
    for spec in manifest.outputs:
        array = outputs[spec.name]
        got = list(array.shape)
        want = [rows if d == -1 and i == 0 else d for i, d in enumerate(spec.shape)]
        same = len(got) == len(want) and all(w in (-1, g) for w, g in zip(want, got, strict=True))
        if not same:
            raise ModelLoadError(
                f"{_who(manifest, version)}: its output {spec.name!r} has shape {got} for "
                f"{rows} row(s) but the manifest says {spec.shape}: republish it with the "
                "right manifest"
            )


def _verified_file(model_dir: Path, manifest: Manifest, version: int) -> Path:
    """The version's file, inside the repository, with the manifest's sha256."""
    try:
        info = manifest.version(version)
    except KeyError:
        raise BadInput(f"{model_dir.name}: version {version} is not in manifest.json") from None
    # Client-visible reasons (repository index, 503 bodies) name the model, the version and
    # the kind of failure; the server's paths and onnxruntime's own text go to the log only.
    path = model_dir / str(version) / info.file
    where = {"model": manifest.name, "version": version, "path": str(path)}
    root = model_dir.parent.resolve()
    if path.exists() and not path.resolve().is_relative_to(root):
        logger.error("model file links outside the repository", extra=where)
        raise IntegrityError(
            f"{_who(manifest, version)}: its model file is a link that leaves the model "
            "repository; copy the file in instead"
        )
    if not path.is_file():
        logger.error("model file missing", extra=where)
        raise BadInput(f"{_who(manifest, version)}: its model file is missing: republish it")
    try:
        digest = sha256_file(path)
    except OSError as exc:  # unreadable (permissions, I/O): never served, say why
        logger.error("model file unreadable", extra={**where, "reason": str(exc)})
        raise IntegrityError(
            f"{_who(manifest, version)}: its model file cannot be read ({exc.strerror}); "
            "check its permissions"
        ) from None
    if digest != info.sha256:
        logger.error(
            "refusing tampered model file",
            extra={**where, "sha256": digest, "expected_sha256": info.sha256},
        )
        raise IntegrityError(
            f"{_who(manifest, version)}: sha256 mismatch: file changed since it was "
            "published; republish it"
        )
    return path


def load_served_model(
    model_dir: Path,
    manifest: Manifest,
    version: int,
    *,
    intra_op_threads: int = 1,
    token_limits: TokenLimits | None = None,
) -> ServedModel:
    """Verify, open, warm up and check ``model_dir/<version>/<file>``.

    :raise IntegrityError: the file's sha256 differs from the manifest (a tampered or
        half-copied file is never served), its signature differs from the manifest, or it
        is a link out of the repository.
    :raise ModelLoadError: onnxruntime cannot open it, its warm-up run fails, or its
        outputs contradict the manifest.
    :raise BadInput: the version is not in the manifest or the file is missing.
    """
    started = time.perf_counter()
    path = _verified_file(model_dir, manifest, version)
    where = {"model": manifest.name, "version": version, "path": str(path)}
    try:
        batching = read_batching(model_dir)
    except BadInput:
        batching = BatchingConfig(
            manifest.batching.max_batch_size, manifest.batching.max_queue_delay_us
        )
    options = session_options(intra_op_threads, memory_arena=not varies_beyond_batch(manifest))
    try:
        session = runtime.create_session(path, options=options)
    except Exception as exc:  # onnxruntime raises its own untyped errors for a bad graph
        logger.error("onnxruntime could not load a model file", extra={**where, "reason": str(exc)})
        raise ModelLoadError(
            f"{_who(manifest, version)}: onnxruntime could not load the file (see the server "
            "log); republish it"
        ) from None
    _check_session(manifest, session, version, path)
    model = ServedModel(manifest, version, session, batching, path=path, token_limits=token_limits)
    try:
        outputs = model.warm_up()
    except Exception as exc:  # the graph opens but cannot run (a bad Reshape, a wrong op)
        logger.error("model failed its warm-up run", extra={**where, "reason": str(exc)})
        raise ModelLoadError(
            f"{_who(manifest, version)}: its warm-up run failed in onnxruntime (see the "
            "server log): the file cannot serve; republish it"
        ) from None
    check_outputs(manifest, version, outputs, rows=1)
    model.load_seconds = time.perf_counter() - started
    return model
