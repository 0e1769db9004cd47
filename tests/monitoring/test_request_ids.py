"""The one request-id rule: the caller's safe id is kept, else a time-ordered UUIDv7."""

from __future__ import annotations

import time
import uuid

from utils.monitoring.logging import new_request_id, request_id_from


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
