"""The faults of issue 10, each reproduced against a live API on 127.0.0.1 and refused.

Tried as a new user and as an attacker would: a version that cannot run, a reload that
refuses a file, half-open connections, forged X-Forwarded-For, the admin key alone,
five-thousand-digit numbers, numeric strings and odd spellings of a version.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tp_docker.tp_docker_server import build_repository, infer_body
from utils.testing.toy_models import mlp_manifest, publish_mlp, publish_onnx, reshape_fails_onnx

ADMIN = {"X-Admin-Key": "admin-secret"}


def _broken_repository(tmp_path: Path) -> Path:
    """``a_broken`` (fails when run) sorts before ``mlp`` (v1 good, v2 fails when run)."""
    root = build_repository(tmp_path / "models")
    bad = reshape_fails_onnx(tmp_path / "bad.onnx")
    publish_onnx(bad, root, mlp_manifest("a_broken", max_batch_size=8))
    publish_onnx(bad, root, mlp_manifest("mlp", max_batch_size=8))  # mlp v3: cannot run
    return root


# -- 1. a version that fails when run ---------------------------------------------------


def test_a_version_that_cannot_run_leaves_the_server_ready_without_strict_readiness(
    make_server: Callable[..., Any], tmp_path: Path
) -> None:
    live = make_server(_broken_repository(tmp_path), strict_readiness=False)
    assert httpx.get(live.url + "/v2/health/ready").status_code == 200


def test_strict_readiness_says_which_model_has_no_ready_version(
    make_server: Callable[..., Any], tmp_path: Path
) -> None:
    live = make_server(_broken_repository(tmp_path), wait_ready=False)
    deadline = time.monotonic() + 20
    while "loading" in (body := httpx.get(live.url + "/v2/health/ready").json())["error"]:
        assert time.monotonic() < deadline, "the server stayed 'loading'"
        time.sleep(0.05)
    assert "a_broken" in body["error"]


def test_the_metadata_names_the_unavailable_version_and_its_reason(
    make_server: Callable[..., Any], tmp_path: Path
) -> None:
    live = make_server(_broken_repository(tmp_path), strict_readiness=False)
    metadata = httpx.get(live.url + "/v2/models/mlp").json()
    assert "warm-up run failed" in metadata["parameters"]["unavailable_versions"]["3"]
    assert metadata["versions"] == ["1", "2"]


def test_the_other_versions_of_the_model_still_serve(
    make_server: Callable[..., Any], tmp_path: Path, good_body: dict[str, Any]
) -> None:
    live = make_server(_broken_repository(tmp_path), strict_readiness=False)
    response = httpx.post(live.url + "/v2/models/mlp/infer", json=good_body)
    assert response.status_code == 200 and response.json()["model_version"] == "2"


def test_a_hot_reload_of_a_model_that_cannot_run_is_a_400_not_a_500(
    make_server: Callable[..., Any], tmp_path: Path
) -> None:
    live = make_server(_broken_repository(tmp_path), strict_readiness=False, admin_key="adm1n")
    response = httpx.post(
        live.url + "/v2/repository/models/a_broken/load", headers={"X-Admin-Key": "adm1n"}
    )
    assert response.status_code == 400
    assert "warm-up run failed" in response.json()["error"]


# -- 5. a reload that refuses a version -------------------------------------------------


def test_a_reload_refusing_a_tampered_version_answers_what_was_refused(
    make_server: Callable[..., Any], tmp_path: Path
) -> None:
    root = build_repository(tmp_path / "models")
    live = make_server(root, admin_key="admin-secret")
    file = root / "mlp" / "2" / "model.onnx"
    data = bytearray(file.read_bytes())
    data[100] ^= 0x01
    file.write_bytes(bytes(data))
    response = httpx.post(live.url + "/v2/repository/models/mlp/load", headers=ADMIN)
    assert response.status_code == 400
    assert "version 2 refused" in response.json()["error"]
    assert "sha256" in response.json()["error"]


def test_after_a_refused_reload_latest_is_still_the_verified_version(
    make_server: Callable[..., Any], tmp_path: Path, good_body: dict[str, Any]
) -> None:
    root = build_repository(tmp_path / "models")
    live = make_server(root, admin_key="admin-secret")
    (root / "mlp" / "2" / "model.onnx").write_bytes(b"not the published file")
    httpx.post(live.url + "/v2/repository/models/mlp/load", headers=ADMIN)
    response = httpx.post(live.url + "/v2/models/mlp/infer", json=good_body)
    assert response.json()["model_version"] == "2"


# -- 6. half-open connections -------------------------------------------------------------


def _open_idle(host_port: str, count: int, first_bytes: bytes = b"") -> list[socket.socket]:
    host, port = host_port.split(":")
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=5)
        if first_bytes:
            sock.sendall(first_bytes)
        sockets.append(sock)
    return sockets


def test_liveness_answers_while_idle_connections_exceed_the_cap(
    make_server: Callable[..., Any],
) -> None:
    live = make_server(max_connections=32)
    held = _open_idle(live.host_port, 200, b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n")
    try:
        response = httpx.get(live.url + "/v2/health/live", timeout=5)
        assert response.status_code == 200
        assert len(live.server.server_state.connections) <= 33  # the flood was reaped
    finally:
        for sock in held:
            sock.close()


def test_a_client_that_never_finishes_its_headers_is_disconnected(
    make_server: Callable[..., Any],
) -> None:
    live = make_server(request_read_timeout_s=0.5)
    (sock,) = _open_idle(live.host_port, 1, b"POST /v2/models/mlp/infer HTTP/1.1\r\n")
    try:
        sock.settimeout(5)
        started = time.monotonic()
        assert sock.recv(1024) == b""  # the server closed it
        assert time.monotonic() - started < 4
    finally:
        sock.close()


def test_a_client_that_never_finishes_its_body_is_disconnected(
    make_server: Callable[..., Any],
) -> None:
    live = make_server(request_read_timeout_s=0.5)
    head = b"POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"
    (sock,) = _open_idle(live.host_port, 1, head)
    try:
        sock.settimeout(5)
        assert sock.recv(1024) == b""
    finally:
        sock.close()


# -- 7. X-Forwarded-For ------------------------------------------------------------------


def test_a_rotated_x_forwarded_for_does_not_escape_the_rate_limit(
    make_server: Callable[..., Any], good_body: dict[str, Any]
) -> None:
    live = make_server(rate_limit="5/minute")
    codes = [
        httpx.post(
            live.url + "/v2/models/mlp/infer",
            json=good_body,
            headers={"X-Forwarded-For": f"10.0.0.{i}"},
        ).status_code
        for i in range(8)
    ]
    assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3


def test_x_forwarded_for_is_the_client_only_from_a_named_proxy(
    make_server: Callable[..., Any], good_body: dict[str, Any]
) -> None:
    live = make_server(rate_limit="5/minute", forwarded_allow_ips="127.0.0.1")
    codes = [
        httpx.post(
            live.url + "/v2/models/mlp/infer",
            json=good_body,
            headers={"X-Forwarded-For": f"10.0.0.{i}"},
        ).status_code
        for i in range(8)
    ]
    assert codes == [200] * 8  # eight clients behind the trusted proxy, one request each


# -- 8. the admin key alone -----------------------------------------------------------------


def test_the_admin_key_alone_may_load_a_model_when_api_keys_are_on(
    make_server: Callable[..., Any],
) -> None:
    live = make_server(api_keys="client-key", admin_key="admin-secret")
    response = httpx.post(live.url + "/v2/repository/models/mlp/load", headers=ADMIN)
    assert response.status_code == 200, response.text


# -- 9. numbers and names of five thousand characters -------------------------------------


def test_a_version_of_5000_digits_is_404(server: Any, good_body: dict[str, Any]) -> None:
    response = httpx.post(
        server.url + f"/v2/models/mlp/versions/{'9' * 5000}/infer", json=good_body
    )
    assert response.status_code == 404


def test_a_header_length_of_5000_digits_is_400(server: Any, good_body: dict[str, Any]) -> None:
    response = httpx.post(
        server.url + "/v2/models/mlp/infer",
        json=good_body,
        headers={"Inference-Header-Content-Length": "9" * 5000},
    )
    assert response.status_code == 400


def test_an_admin_load_of_a_5000_character_name_is_404(server: Any) -> None:
    response = httpx.post(server.url + f"/v2/repository/models/{'m' * 5000}/load", headers=ADMIN)
    assert response.status_code == 404


# -- 11. lenient parsing --------------------------------------------------------------------


def test_numeric_strings_are_refused_as_fp32_data(server: Any) -> None:
    body = infer_body([[0.5] * 64])
    body["inputs"][0]["data"][0] = "0.5"
    response = httpx.post(server.url + "/v2/models/mlp/infer", json=body)
    assert response.status_code == 400 and "strings" in response.json()["error"]


@pytest.mark.parametrize("segment", ["01", "%31", "%D9%A1"])
@pytest.mark.parametrize("route", ["/infer", ""])
def test_only_the_canonical_spelling_of_a_version_finds_it(
    server: Any, good_body: dict[str, Any], segment: str, route: str
) -> None:
    url = f"{server.url}/v2/models/mlp/versions/{segment}{route}"
    response = httpx.post(url, json=good_body) if route else httpx.get(url)
    assert response.status_code == 404


def test_a_model_linking_outside_the_repository_is_not_served(
    make_server: Callable[..., Any], tmp_path: Path, good_body: dict[str, Any]
) -> None:
    outside = tmp_path / "outside"
    publish_mlp(outside, "stolen", seed=3)
    root = build_repository(tmp_path / "models")
    (root / "stolen").symlink_to(outside / "stolen", target_is_directory=True)
    live = make_server(root, strict_readiness=False)
    response = httpx.post(live.url + "/v2/models/stolen/infer", json=good_body)
    assert response.status_code == 503
