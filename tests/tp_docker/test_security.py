"""Security defaults: API keys, rate limits, CORS, admin-only repository changes, 500s."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from utils.deployment_helpers import Batching, Manifest, TensorSpec, VersionInfo, publish_version

INFER = "/v2/models/mlp/infer"


def test_without_a_key_configured_requests_pass_and_the_start_log_warns(
    make_server: Callable[..., Any], good_body: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    live = make_server()
    assert httpx.post(live.url + INFER, json=good_body).status_code == 200
    assert "AUTH IS OFF" in capfd.readouterr().err


def test_a_missing_key_is_refused_with_401(
    make_server: Callable[..., Any], good_body: dict[str, Any]
) -> None:
    live = make_server(api_keys="k1,k2")
    response = httpx.post(live.url + INFER, json=good_body)
    assert response.status_code == 401
    assert "X-API-Key" in response.json()["error"]


def test_a_wrong_key_is_refused_and_a_right_one_accepted_in_either_header(
    make_server: Callable[..., Any], good_body: dict[str, Any]
) -> None:
    live = make_server(api_keys="k1,k2")
    assert (
        httpx.post(live.url + INFER, json=good_body, headers={"X-API-Key": "nope"}).status_code
        == 401
    )
    assert (
        httpx.post(live.url + INFER, json=good_body, headers={"X-API-Key": "k2"}).status_code == 200
    )
    bearer = {"Authorization": "Bearer k1"}
    assert httpx.post(live.url + INFER, json=good_body, headers=bearer).status_code == 200


def test_health_and_metrics_stay_open_when_auth_is_on(make_server: Callable[..., Any]) -> None:
    live = make_server(api_keys="k1")
    assert httpx.get(live.url + "/v2/health/ready").status_code == 200
    assert httpx.get(live.url + "/metrics").status_code == 200
    assert httpx.get(live.url + "/v2/models/mlp").status_code == 401


def test_metrics_can_be_closed_by_setting(make_server: Callable[..., Any]) -> None:
    live = make_server(api_keys="k1", public_metrics=False)
    assert httpx.get(live.url + "/metrics").status_code == 401


def test_a_burst_over_the_rate_limit_gets_429_with_retry_after(
    make_server: Callable[..., Any], good_body: dict[str, Any]
) -> None:
    live = make_server(rate_limit="5/minute")
    codes = [httpx.post(live.url + INFER, json=good_body).status_code for _ in range(7)]
    assert codes[:5] == [200] * 5
    refused = httpx.post(live.url + INFER, json=good_body)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "rate limit" in refused.json()["error"]
    assert httpx.get(live.url + "/v2/health/live").status_code == 200


def test_rate_limits_are_counted_per_key(
    make_server: Callable[..., Any], good_body: dict[str, Any]
) -> None:
    live = make_server(api_keys="a,b", rate_limit="2/minute")
    for _ in range(2):
        httpx.post(live.url + INFER, json=good_body, headers={"X-API-Key": "a"})
    assert (
        httpx.post(live.url + INFER, json=good_body, headers={"X-API-Key": "a"}).status_code == 429
    )
    assert (
        httpx.post(live.url + INFER, json=good_body, headers={"X-API-Key": "b"}).status_code == 200
    )


def test_a_burst_of_wrong_keys_ends_in_429_not_in_endless_401s(
    make_server: Callable[..., Any], good_body: dict[str, Any]
) -> None:
    live = make_server(api_keys="the-right-key", rate_limit="5/minute")
    codes = [
        httpx.post(
            live.url + INFER, json=good_body, headers={"X-API-Key": f"guess-{i}"}
        ).status_code
        for i in range(8)
    ]
    assert codes[:5] == [401] * 5
    assert codes[5:] == [429] * 3


def test_requests_without_a_key_are_rate_limited_per_client_too(
    make_server: Callable[..., Any], good_body: dict[str, Any]
) -> None:
    live = make_server(api_keys="the-right-key", rate_limit="3/minute")
    codes = [httpx.post(live.url + INFER, json=good_body).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]


def test_cors_is_closed_unless_configured(make_server: Callable[..., Any]) -> None:
    live = make_server()
    response = httpx.get(live.url + "/v2", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_a_configured_origin_gets_cors_headers_even_on_refusals(
    make_server: Callable[..., Any],
) -> None:
    live = make_server(cors_origins="https://app.example", api_keys="k1")
    response = httpx.get(live.url + "/v2", headers={"Origin": "https://app.example"})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == "https://app.example"


def test_repository_changes_are_refused_when_no_admin_key_is_configured(
    make_server: Callable[..., Any],
) -> None:
    live = make_server()
    response = httpx.post(live.url + "/v2/repository/models/mlp/unload")
    assert response.status_code == 403
    assert "API_ADMIN_KEY" in response.json()["error"]


def test_an_api_key_is_not_an_admin_key(make_server: Callable[..., Any]) -> None:
    live = make_server(api_keys="user", admin_key="root")
    response = httpx.post(
        live.url + "/v2/repository/models/mlp/unload", headers={"X-API-Key": "user"}
    )
    assert response.status_code == 403


def test_the_request_id_is_echoed_or_made(make_server: Callable[..., Any]) -> None:
    live = make_server()
    assert (
        httpx.get(live.url + "/v2", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    assert len(httpx.get(live.url + "/v2").headers["x-request-id"]) == 32


def _publish_broken(root: Path) -> None:
    """A model that runs at batch 1 and fails inside onnxruntime at batch 2 (Reshape to 2x2)."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [2, 2])
    shape = numpy_helper.from_array(np.array([2, 2], np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["input", "shape"], ["output"])],
        "broken",
        [x],
        [y],
        initializer=[shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    template = Manifest(
        name="broken",
        task="regression",
        inputs=[TensorSpec(name="input", datatype="FP32", shape=[-1, 4])],
        outputs=[TensorSpec(name="output", datatype="FP32", shape=[2, 2])],
        batching=Batching(max_batch_size=4, max_queue_delay_us=0),
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        onnx.save(model, path)
        publish_version(path, root, template, VersionInfo(sha256="", size_bytes=0))


def test_a_failure_inside_onnxruntime_is_a_500_naming_only_the_request_id(
    make_server: Callable[..., Any], tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    _publish_broken(root)
    live = make_server(root)
    body = {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": [0.0] * 8}]}
    response = httpx.post(
        live.url + "/v2/models/broken/infer", json=body, headers={"X-Request-ID": "rid-9"}
    )
    assert response.status_code == 500
    assert response.json() == {"error": "model 'broken' failed on this input (request id rid-9)"}


def test_a_cors_preflight_passes_without_a_key_for_a_configured_origin(
    make_server: Callable[..., Any],
) -> None:
    live = make_server(cors_origins="https://app.example", api_keys="k1")
    response = httpx.options(
        live.url + "/v2/models/mlp/infer",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example"
