"""The buffered JSON access log: every line arrives, with the request id, soon enough."""

from __future__ import annotations

import json
import time

import pytest

from utils.monitoring.logging import AccessLog, configure_logging, request_id_var


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_lines_are_written_by_the_background_writer_within_the_interval(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", json_lines=True)
    log = AccessLog(json_lines=True, logger_name="test.access", flush_interval_s=0.05)
    token = request_id_var.set("rid-1")
    try:
        log.log({"path": "/x", "status": 200})
    finally:
        request_id_var.reset(token)
    time.sleep(0.3)
    entries = _lines(capsys.readouterr().err)
    log.close()
    assert entries == [
        {**entries[0], "request_id": "rid-1", "path": "/x", "status": 200, "msg": "request"}
    ]


def test_closing_writes_what_is_queued_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json_lines=True)
    log = AccessLog(json_lines=True, logger_name="test.access", flush_interval_s=60)
    for status in (200, 404):
        log.log({"status": status})
    log.close()
    assert [e["status"] for e in _lines(capsys.readouterr().err)] == [200, 404]


def test_a_full_buffer_is_written_without_waiting(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json_lines=True)
    log = AccessLog(json_lines=True, logger_name="test.access", max_lines=3, flush_interval_s=60)
    for i in range(3):
        log.log({"n": i})
    written = _lines(capsys.readouterr().err)
    log.close()
    assert [e["n"] for e in written] == [0, 1, 2]
