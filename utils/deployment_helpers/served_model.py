"""One model version, ready to answer: a verified file, an onnxruntime session, a signature.

A :class:`ServedModel` is immutable once built; a hot reload builds a new one and swaps
the reference (see ``repository.py``), so a request that holds the old one finishes on
it. ``InferenceSession.run`` is thread-safe, so one instance serves every thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from utils.deployment_helpers.codec import DATATYPE_TO_NUMPY
from utils.deployment_helpers.manifest import Manifest, TensorSpec
from utils.deployment_helpers.signature import Signature
from utils.deployment_helpers.triton_config import BatchingConfig, read_batching
from utils.errors import BadInput, IntegrityError
from utils.io import sha256_file

logger = logging.getLogger(__name__)

PROVIDERS = ["CPUExecutionProvider"]
"""Explicit: onnxruntime also lists an Azure provider here, and no GPU exists (STACK.md)."""


@dataclass(frozen=True)
class Classification:
    """One row of a classifier's answer, in the words a person reads."""

    index: int
    label: str
    probabilities: list[float]


def softmax(logits: NDArray[np.floating[Any]]) -> NDArray[np.float32]:
    """Row-wise softmax, shifted by the row maximum so large logits do not overflow."""
    shifted = logits.astype(np.float32) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def session_options(intra_op_threads: int) -> ort.SessionOptions:
    """Options for a server: few threads, no spinning.

    Spinning threads burn a core while idle; on a 2-core machine shared with the event
    loop that costs more latency than it saves.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


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
        load_seconds: float = 0.0,
    ) -> None:
        self.manifest = manifest
        self.name = manifest.name
        self.version = version
        self.session = session
        self.batching = batching
        self.path = path
        self.load_seconds = load_seconds
        self.signature = Signature(
            model=manifest.name,
            inputs=tuple(manifest.inputs),
            max_batch_size=batching.max_batch_size,
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
        """Validate then run: the synchronous door for scripts and the Flask app."""
        return self.run(self.validate(inputs))

    @property
    def scores_output(self) -> str:
        """The output holding class scores (the manifest's choice, else the last output)."""
        return self.manifest.scores_output or self.output_names[-1]

    def probabilities(self, outputs: dict[str, NDArray[Any]]) -> NDArray[np.float32]:
        """Class probabilities [N, C] from raw outputs (softmax when the model gives logits)."""
        scores = outputs[self.scores_output]
        if self.manifest.scores_kind == "logits":
            return softmax(scores)
        return scores.astype(np.float32)

    def classify(self, x: NDArray[Any]) -> list[Classification]:
        """Classify a batch laid out as the model's single input.

        :raise BadInput: the model is not a classifier, takes several inputs, or ``x``
            does not match its input.
        """
        if self.manifest.task != "classification":
            raise BadInput(f"model {self.name!r} is a {self.manifest.task} model, not a classifier")
        if len(self.manifest.inputs) != 1:
            raise BadInput(f"model {self.name!r} takes several inputs; call predict() instead")
        spec = self.manifest.inputs[0]
        probs = self.probabilities(self.predict({spec.name: x}))
        labels = self.manifest.labels
        rows = []
        for row in probs:
            index = int(np.argmax(row))
            label = labels[index] if index < len(labels) else str(index)
            rows.append(Classification(index, label, [float(p) for p in row]))
        return rows

    def warm_up(self) -> None:
        """Run one batch of zeros, so the first real request does not pay for allocation."""
        feed = {s.name: _zeros(s) for s in self.manifest.inputs}
        self.session.run(self.output_names, feed)


def _zeros(spec: TensorSpec) -> NDArray[Any]:
    shape = [1 if d < 0 else d for d in spec.shape]
    dtype = DATATYPE_TO_NUMPY[spec.datatype]
    if spec.datatype == "BYTES":
        return np.array([b""] * int(np.prod(shape)), dtype=object).reshape(shape)
    return np.zeros(shape, dtype=dtype)


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


def _who(manifest: Manifest, version: int) -> str:
    """How a client-visible message names a version: never by its path on the server."""
    return f"model {manifest.name!r} version {version}"


def load_served_model(
    model_dir: Path,
    manifest: Manifest,
    version: int,
    *,
    intra_op_threads: int = 1,
    warmup: bool = True,
) -> ServedModel:
    """Verify, open and warm up ``model_dir/<version>/<file>``.

    :raise IntegrityError: the file's sha256 differs from the manifest (a tampered or
        half-copied file is never served), or its signature differs from the manifest.
    :raise BadInput: the version is not in the manifest or the file is missing.
    """
    started = time.perf_counter()
    try:
        info = manifest.version(version)
    except KeyError:
        raise BadInput(f"{model_dir.name}: version {version} is not in manifest.json") from None
    # Client-visible reasons (repository index, 503 bodies) name the model, the version and
    # the kind of failure; the server's paths and onnxruntime's own text go to the log only.
    path = model_dir / str(version) / info.file
    if not path.is_file():
        logger.error(
            "model file missing",
            extra={"model": manifest.name, "version": version, "path": str(path)},
        )
        raise BadInput(f"{_who(manifest, version)}: its model file is missing: republish it")
    try:
        digest = sha256_file(path)
    except OSError as exc:  # unreadable (permissions, I/O): never served, say why
        logger.error(
            "model file unreadable",
            extra={"model": manifest.name, "version": version, "path": str(path),
                   "reason": str(exc)},
        )  # fmt: skip
        raise IntegrityError(
            f"{_who(manifest, version)}: its model file cannot be read ({exc.strerror}); "
            "check its permissions"
        ) from None
    if digest != info.sha256:
        logger.error(
            "refusing tampered model file",
            extra={
                "model": manifest.name,
                "version": version,
                "path": str(path),
                "sha256": digest,
                "expected_sha256": info.sha256,
            },
        )
        raise IntegrityError(
            f"{_who(manifest, version)}: sha256 mismatch: file changed since it was "
            "published; republish it"
        )
    try:
        batching = read_batching(model_dir)
    except BadInput:
        batching = BatchingConfig(
            manifest.batching.max_batch_size, manifest.batching.max_queue_delay_us
        )
    try:
        session = ort.InferenceSession(
            str(path), sess_options=session_options(intra_op_threads), providers=PROVIDERS
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors for a bad graph
        logger.error(
            "onnxruntime could not load a model file",
            extra={"model": manifest.name, "version": version, "path": str(path),
                   "reason": str(exc)},
        )  # fmt: skip
        raise IntegrityError(
            f"{_who(manifest, version)}: onnxruntime could not load the file (see the server "
            "log); republish it"
        ) from None
    _check_session(manifest, session, version, path)
    model = ServedModel(manifest, version, session, batching, path=path)
    if warmup:
        model.warm_up()
    model.load_seconds = time.perf_counter() - started
    return model
