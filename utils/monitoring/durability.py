"""What a writer killed with SIGKILL loses: acknowledged records missing from the log.

A child process writes records at a steady rate (a busy server), in ``fast`` or
``synchronous`` mode,
and after each :meth:`PredictionLog.record` that returned True it sends the request id to
this process (the acknowledgement a server would answer the client with). After
``seconds`` the child gets SIGKILL, mid-flight. Missing = acknowledged ids not in the log.
``synchronous`` commits before acknowledging, so the goal there is 0; ``fast`` loses what
was still queued, bounded by the queue size and in practice by ``flush_interval_s`` of
traffic.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from multiprocessing.connection import Connection
from typing import Any

import sqlalchemy as sa

from utils.monitoring.database import create_engine
from utils.monitoring.log_process import pack_records
from utils.monitoring.prediction_log import (
    Durability,
    PredictionLog,
    PredictionLogConfig,
    WriterPlacement,
)
from utils.monitoring.records import PredictionRecord
from utils.monitoring.schema import predictions


def _writer(url: str, durability: str, writer: str, rate_per_s: float, acks: Connection) -> None:
    import numpy as np

    config = PredictionLogConfig(
        url=url, durability=Durability(durability), writer=WriterPlacement(writer)
    )
    log = PredictionLog(config)
    log.packer = lambda pending: pack_records(pending, log.featurizer)  # used by "process"
    pixels = np.linspace(0, 1, 64, dtype=np.float32).reshape(1, 1, 8, 8)
    acks.send("ready")
    started = time.monotonic()
    i = 0
    while True:
        wait = started + i / rate_per_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        request_id = f"k{i}"
        record = PredictionRecord(
            request_id, "digits", "1", 0.5, inputs={"input": pixels}, labels=["3"]
        )
        if log.record(record):
            acks.send(request_id)
        i += 1


def kill_under_load(
    url: str,
    durability: Durability,
    *,
    seconds: float = 3.0,
    rate_per_s: float = 1000.0,
    writer: WriterPlacement = WriterPlacement.THREAD,
) -> dict[str, Any]:
    """Run a writer offering ``rate_per_s`` requests a second for ``seconds``, SIGKILL it,
    count acknowledged records not in the log. With ``writer=PROCESS`` the killed process
    is the serving side; its log process survives it, writes what it was sent and exits,
    so the log is read once its row count stops moving."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_writer, args=(url, durability.value, writer.value, rate_per_s, send), daemon=True
    )
    child.start()
    send.close()
    if not receive.poll(120) or receive.recv() != "ready":
        child.kill()
        raise RuntimeError("the writer process did not start")
    acknowledged: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if receive.poll(0.05):
            acknowledged.append(receive.recv())
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    while receive.poll(0.2):  # what was acknowledged before the kill, still in the pipe
        try:
            acknowledged.append(receive.recv())
        except EOFError:
            break
    engine = create_engine(url)
    try:
        logged = _settled_ids(engine)
    finally:
        engine.dispose()
    missing = [r for r in acknowledged if r not in logged]
    return {
        "durability": durability.value,
        "writer": writer.value if durability is Durability.FAST else "none",
        "seconds": seconds,
        "offered_per_s": rate_per_s,
        "acknowledged": len(acknowledged),
        "missing": len(missing),
        "acknowledged_per_s": round(len(acknowledged) / seconds, 1),
    }


def _settled_ids(engine: sa.Engine, quiet_s: float = 1.0, limit_s: float = 30.0) -> set[str]:
    """The logged request ids once no new row arrived for ``quiet_s`` (a surviving log
    process may still be writing what it was sent)."""
    deadline = time.monotonic() + limit_s
    seen = -1
    while True:
        with engine.connect() as connection:
            ids = set(connection.execute(sa.select(predictions.c.request_id)).scalars())
        if len(ids) == seen or time.monotonic() > deadline:
            return ids
        seen = len(ids)
        time.sleep(quiet_s)
