"""The prediction log's writer in a process of its own (``writer="process"``, the default).

Why a process: measured under wrk on the 2-core machine, the writer *thread* cost the
API about 20 % of its throughput. Its Python work (input summaries, drift features, row
tuples) and the SQLite inserts, about 70 us a request, all wanted the interpreter lock
that the event loop needs; a core sat partly idle meanwhile. Here the serving process
does only what must stay there: it decodes a whole batch at once (labels for the
business metrics, the drift features from the profiles it watches) and packs it into a
:class:`Shipment` (a few lists and stacked arrays, pickled in ~2 us a request). A child
process builds the rows and inserts them, on the other core.

Durability does not weaken: a record is still acknowledged once queued in the serving
process (``fast``). When the serving process is killed, the child reads what the pipe
still holds, writes it and exits: only the serving process's queue is lost, as before.
If the child dies, the serving process writes in its own thread again (logged), so no
accepted record is lost to it. The child is a fresh interpreter
(``python -c CHILD FD``, about 1 s to start, 61 MB RSS), started at
the first batch; it talks over a socket pair.

Socket protocol: ``("config", PredictionLogConfig)`` first, then ``("batch", Shipment)``,
``("sync", token)``, ``("close", None)`` down;
``("done", written, failed)`` and ``("synced", token)`` up.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from utils.monitoring.records import (
    Answers,
    Featurizer,
    Fields,
    PredictionRecord,
    feature_blobs,
    feed_texts,
    fields_of,
    row_count,
    rows_of,
)
from utils.paths import PROJECT_ROOT

if TYPE_CHECKING:
    from utils.monitoring.prediction_log import PredictionLogConfig

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Shipment:
    """A batch of records, columnar: cheap to pickle (arrays travel as buffers)."""

    fields: list[Fields]
    """Each record's plain fields (:data:`FIELDS`)."""
    rows: list[tuple[int, int, int | None] | None]
    """Each record's inputs: (group, start, stop) in the stacked arrays, (group, 0, None)
    for a group that is one record's own inputs, taken whole; None: no inputs."""
    inputs: list[dict[str, NDArray[Any]]]
    """Per group: the stacked inputs the log keeps (or one record's own)."""
    features: list[NDArray[np.float32] | None]
    """Per group: the stacked drift features (None: the version has no profile)."""
    answers: list[Answers | None] = field(default_factory=list)
    """Per group: the decoded answers of all its rows (labels, confidences, values), which
    its records' fields leave out; None: each record carries its own."""


def shipment_rows(shipment: Shipment, *, keep_tensors: bool) -> list[tuple[Any, ...]]:
    """The ``predictions`` rows of a whole batch (in the log process), built column-wise:
    each stacked group's input summaries and feature bytes in one pass, then one tuple per
    row, with no record object per request in between (rebuilding records cost the log
    process as much CPU as its inserts, and that CPU is taken from the same two cores the
    server and its clients use)."""
    texts: dict[int, list[str] | None] = {}
    blobs: dict[int, list[bytes] | None] = {}
    out: list[tuple[Any, ...]] = []
    for values, where in zip(shipment.fields, shipment.rows, strict=True):
        if where is None:
            out.extend(rows_of(values, _count(values, None), None, None))
            continue
        group, start, stop = where
        inputs = shipment.inputs[group]
        if stop is None:  # a record's own inputs
            count = _count(values, inputs)
            own = feed_texts(inputs, count, keep_tensors=keep_tensors)
            out.extend(rows_of(values, count, own, feature_blobs(shipment.features[group])))
            continue
        if group not in texts:
            size = len(next(iter(inputs.values()))) if inputs else 0
            texts[group] = feed_texts(inputs, size, keep_tensors=keep_tensors)
            blobs[group] = feature_blobs(shipment.features[group])
        answers = shipment.answers[group]
        count = stop - start
        out.extend(rows_of(values, count, texts[group], blobs[group], start, answers))
    return out


def _count(values: Fields, inputs: dict[str, NDArray[Any]] | None) -> int:
    labels, confidences, predicted, outputs = values[7:11]
    return row_count(labels, confidences, predicted, outputs, inputs)


def ship_record(
    shipment: Shipment, record: PredictionRecord, features: NDArray[np.float32] | None
) -> None:
    """Add one record with its own inputs (and drift features) to ``shipment``."""
    shipment.fields.append(fields_of(record))
    if not record.inputs:
        shipment.rows.append(None)
        return
    shipment.rows.append((len(shipment.inputs), 0, None))
    shipment.inputs.append(dict(record.inputs))
    shipment.features.append(features)
    shipment.answers.append(None)


def pack_records(
    records: Sequence[PredictionRecord], featurizer: Featurizer | None = None
) -> Shipment:
    """A shipment of plain records (a :class:`PredictionLog` used alone: set its
    ``packer`` to ``lambda pending: pack_records(pending, log.featurizer)``)."""
    features = featurizer(records) if featurizer is not None else [None] * len(records)
    shipment = Shipment([], [], [], [])
    for record, vectors in zip(records, features, strict=True):
        ship_record(shipment, record, vectors)
    return shipment


class LogProcess:
    """The serving side of the child that writes: send batches, sync, close."""

    def __init__(self, config: PredictionLogConfig, on_done: Callable[[int, int], None]) -> None:
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])
        )
        # A fresh interpreter, not multiprocessing's: a forked or spawned child would run
        # the parent's __main__ again (the app's script and its imports, ~40 MB).
        self._process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=env,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._conn = Connection(ours.detach())
        self._on_done = on_done
        self._tokens = itertools.count()
        self.alive = True
        try:
            self._conn.send(("config", config))
        except (OSError, ValueError):
            self._gone()

    @property
    def pid(self) -> int:
        return self._process.pid

    def send(self, shipment: Shipment) -> bool:
        """Hand a batch over (blocks while the pipe is full: back-pressure on the writer
        thread, never on requests); False when the child is gone."""
        if not self.alive:
            return False
        try:
            self._conn.send(("batch", shipment))
            self._read(0.0)
        except (OSError, EOFError, ValueError):
            self._gone()
            return False
        return True

    def sync(self, timeout_s: float) -> bool:
        """Wait until everything sent so far is committed."""
        if not self.alive:
            return False
        token = next(self._tokens)
        deadline = time.monotonic() + timeout_s
        try:
            self._conn.send(("sync", token))
            while (left := deadline - time.monotonic()) > 0:
                if self._read(left) == token:
                    return True
        except (OSError, EOFError, ValueError):
            self._gone()
        return False

    def close(self, timeout_s: float) -> None:
        """Let the child write what it holds and exit."""
        if self.alive:
            self.sync(timeout_s)
            with contextlib.suppress(OSError, ValueError):
                self._conn.send(("close", None))
        try:
            self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.error("prediction log: the writer process did not stop; terminating it")
            self._process.terminate()
            self._process.wait(5)
        self._conn.close()
        self.alive = False

    def _read(self, timeout_s: float) -> int | None:
        """Handle the child's replies for up to ``timeout_s``; the sync token, if one came."""
        while self._conn.poll(timeout_s):
            kind, *body = self._conn.recv()
            if kind == "done":
                self._on_done(*body)
            elif kind == "synced":
                return int(body[0])
            timeout_s = 0.0
        return None

    def _gone(self) -> None:
        if self.alive:
            log.error(
                "prediction log: the writer process (pid %s) is gone; writing in this process",
                self._process.pid,
            )
        self.alive = False


def serve(conn: Connection) -> None:
    """The child: write each batch received until told to close or the parent is gone."""
    from utils.monitoring.prediction_log import PredictionLog, WriterPlacement

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent decides when we stop
    try:
        kind, config = conn.recv()
    except (EOFError, OSError):
        return
    assert kind == "config", kind
    writer = PredictionLog(replace(config, writer=WriterPlacement.THREAD), inline=True)
    try:
        while True:
            try:
                kind, body = conn.recv()
            except (EOFError, OSError):
                return  # the parent is gone: everything it sent is written
            if kind == "close":
                return
            try:
                if kind == "batch":
                    count = len(body.fields)
                    ok = writer.write_shipment(body)
                    conn.send(("done", count, 0) if ok else ("done", 0, count))
                elif kind == "sync":
                    conn.send(("synced", body))
            except (BrokenPipeError, ConnectionResetError):
                continue  # no one to tell: keep writing what is still in the pipe
    finally:
        writer.engine.dispose()


def main(argv: list[str]) -> None:
    """The child's entry (:data:`CHILD`): serve the socket inherited as ``argv[0]``."""
    logging.basicConfig(level=logging.WARNING)
    serve(Connection(int(argv[0])))


CHILD = "import sys; from utils.monitoring.log_process import main; main(sys.argv[1:])"
"""What the child runs (``python -c CHILD FD``): an internal entry, not a command."""
