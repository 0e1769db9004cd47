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
from utils.monitoring.prediction_log import Durability, PredictionLog, PredictionLogConfig
from utils.monitoring.records import PredictionRecord
from utils.monitoring.schema import predictions


def _writer(url: str, durability: str, rate_per_s: float, acks: Connection) -> None:
    import numpy as np

    log = PredictionLog(PredictionLogConfig(url=url, durability=Durability(durability)))
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
    url: str, durability: Durability, *, seconds: float = 3.0, rate_per_s: float = 1000.0
) -> dict[str, Any]:
    """Run a writer offering ``rate_per_s`` requests a second for ``seconds``, SIGKILL it,
    count acknowledged records not in the log."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_writer, args=(url, durability.value, rate_per_s, send), daemon=True
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
        with engine.connect() as connection:
            logged = set(connection.execute(sa.select(predictions.c.request_id)).scalars())
    finally:
        engine.dispose()
    missing = [r for r in acknowledged if r not in logged]
    return {
        "durability": durability.value,
        "seconds": seconds,
        "offered_per_s": rate_per_s,
        "acknowledged": len(acknowledged),
        "missing": len(missing),
        "acknowledged_per_s": round(len(acknowledged) / seconds, 1),
    }
