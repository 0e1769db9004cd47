"""The one request-id rule: the caller's safe id is kept, else a time-ordered UUIDv7."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime

from utils.monitoring.logging import new_request_id, request_id_from, utc_timestamp


def test_a_fresh_request_id_is_a_version_7_uuid_in_32_hex_characters() -> None:
    made = new_request_id()
    assert len(made) == 32 and int(made, 16) >= 0
    parsed = uuid.UUID(made)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122


def test_request_ids_made_later_sort_after_earlier_ones() -> None:
    first = new_request_id()
    time.sleep(0.002)
    assert new_request_id() > first


def test_request_ids_made_in_the_same_millisecond_still_differ() -> None:
    assert len({new_request_id() for _ in range(10_000)}) == 10_000


def test_a_clients_safe_request_id_is_kept_and_an_unsafe_one_replaced() -> None:
    assert request_id_from(b"trace-42.a:b") == "trace-42.a:b"
    replaced = request_id_from("no spaces allowed")
    assert replaced != "no spaces allowed" and uuid.UUID(replaced).version == 7


def test_a_forked_process_draws_request_ids_of_its_own() -> None:
    """Random bits are drawn in blocks: a forked worker must not reuse its parent's."""
    new_request_id()  # the parent holds a block of random numbers now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, then exit at once
        os.write(write, ",".join(new_request_id()[12:] for _ in range(5)).encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 4096).decode().split(",")
    os.waitpid(pid, 0)
    parent = [new_request_id()[12:] for _ in range(5)]
    assert not set(child) & set(parent)


def test_log_timestamps_read_as_datetime_writes_them() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = utc_timestamp()
    parsed = datetime.fromisoformat(stamp)
    assert stamp == parsed.isoformat(timespec="milliseconds")
    assert before <= parsed <= datetime.now(UTC)
