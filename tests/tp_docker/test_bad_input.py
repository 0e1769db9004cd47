"""Every bad request gets the right 4xx with a JSON error, and the server stays up.

Each test sends one kind of bad request, checks the status and the message, then sends a
good request to prove the server still answers.
"""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from tp_docker.tp_docker_server import build_repository
from utils.testing.toy_models import publish_mlp

INFER = "/v2/models/mlp/infer"


@pytest.fixture
def url(server: Any) -> str:
    return str(server.url)


def _still_serving(url: str, body: dict[str, Any]) -> None:
    response = httpx.post(url + INFER, json=body)
    assert response.status_code == 200, response.text


def _refused(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert words in response.json()["error"]


def test_malformed_json_is_refused_with_400(url: str, good_body: dict[str, Any]) -> None:
    response = httpx.post(
        url + INFER, content=b'{"inputs": [', headers={"content-type": "application/json"}
    )
    _refused(response, 400, "not valid JSON")
    _still_serving(url, good_body)


def test_a_non_json_content_type_is_refused_with_415(url: str, good_body: dict[str, Any]) -> None:
    response = httpx.post(
        url + INFER, content=orjson.dumps(good_body), headers={"content-type": "text/plain"}
    )
    _refused(response, 415, "application/json")
    _still_serving(url, good_body)


def test_a_missing_input_is_refused_naming_it(url: str, good_body: dict[str, Any]) -> None:
    body = copy.deepcopy(good_body)
    body["inputs"][0]["name"] = "pixels"
    response = httpx.post(url + INFER, json=body)
    _refused(response, 400, "missing input 'input'")
    _still_serving(url, good_body)


def test_an_extra_input_is_refused_naming_it(url: str, good_body: dict[str, Any]) -> None:
    body = copy.deepcopy(good_body)
    body["inputs"].append({**body["inputs"][0], "name": "extra"})
    _refused(httpx.post(url + INFER, json=body), 400, "unknown input 'extra'")
    _still_serving(url, good_body)


def test_a_wrong_datatype_is_refused_with_400(url: str, good_body: dict[str, Any]) -> None:
    body = copy.deepcopy(good_body)
    body["inputs"][0]["datatype"] = "INT64"
    _refused(httpx.post(url + INFER, json=body), 400, "datatype INT64")
    _still_serving(url, good_body)


def test_a_wrong_shape_is_refused_with_the_expected_shape(
    url: str, good_body: dict[str, Any]
) -> None:
    body = copy.deepcopy(good_body)
    body["inputs"][0]["shape"] = [8, 8]
    _refused(httpx.post(url + INFER, json=body), 400, "takes [-1, 64]")
    _still_serving(url, good_body)


def test_a_batch_above_the_maximum_is_refused(url: str, good_body: dict[str, Any]) -> None:
    body = {
        "inputs": [{"name": "input", "shape": [9, 64], "datatype": "FP32", "data": [0.0] * 576}]
    }
    _refused(httpx.post(url + INFER, json=body), 400, "over the maximum of 8")
    _still_serving(url, good_body)


def test_nan_sent_as_a_binary_tensor_is_refused(url: str, good_body: dict[str, Any]) -> None:
    x = np.zeros((1, 64), np.float32)
    x[0, 0] = np.nan
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "input",
                    "shape": [1, 64],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": x.nbytes},
                }
            ]
        }
    )
    response = httpx.post(
        url + INFER,
        content=header + x.tobytes(),
        headers={
            "inference-header-content-length": str(len(header)),
            "content-type": "application/octet-stream",
        },
    )
    _refused(response, 400, "NaN")
    _still_serving(url, good_body)


def test_a_50_mb_body_is_refused_with_413_before_it_is_read(
    url: str, good_body: dict[str, Any]
) -> None:
    body = b"0" * (50 * 1024 * 1024)
    try:
        response = httpx.post(
            url + INFER, content=body, headers={"content-type": "application/json"}
        )
    except httpx.TransportError:
        pytest.fail("the server should answer 413, not drop the connection before answering")
    _refused(response, 413, "limit")
    _still_serving(url, good_body)


def test_an_unknown_model_is_404(url: str, good_body: dict[str, Any]) -> None:
    _refused(httpx.post(url + "/v2/models/resnet/infer", json=good_body), 404, "does not exist")
    _still_serving(url, good_body)


@pytest.mark.parametrize("version", ["7", "latest", "0", "³"])  # ³: a digit int() refuses
def test_an_unknown_version_is_404(url: str, good_body: dict[str, Any], version: str) -> None:
    response = httpx.post(url + f"/v2/models/mlp/versions/{version}/infer", json=good_body)
    _refused(response, 404, "no version")
    _still_serving(url, good_body)


def test_a_header_length_that_is_a_digit_but_not_a_number_is_refused_with_400(
    url: str, good_body: dict[str, Any]
) -> None:
    response = httpx.post(
        url + INFER,
        content=orjson.dumps(good_body),
        headers={
            "content-type": "application/json",
            "inference-header-content-length": "³".encode("latin-1"),
        },
    )
    _refused(response, 400, "Inference-Header-Content-Length")
    _still_serving(url, good_body)


def test_a_body_that_is_not_an_object_is_refused(url: str, good_body: dict[str, Any]) -> None:
    _refused(httpx.post(url + INFER, json=[1, 2, 3]), 400, "JSON object")
    _still_serving(url, good_body)


def test_an_unknown_route_answers_404_in_the_same_json_shape(url: str) -> None:
    _refused(httpx.get(url + "/v3/nothing"), 404, "Not Found")


def test_a_tampered_model_file_is_not_served_and_the_index_says_why(
    make_server: Any, tmp_path: Any, good_body: dict[str, Any]
) -> None:
    repo = build_repository(tmp_path / "tampered")
    model_file = repo / "mlp" / "2" / "model.onnx"
    model_file.write_bytes(model_file.read_bytes() + b"\x00")
    live = make_server(repo, admin_key="admin")
    response = httpx.post(live.url + "/v2/models/mlp/versions/2/infer", json=good_body)
    _refused(response, 503, "sha256")
    index = httpx.post(live.url + "/v2/repository/index").json()
    row = next(r for r in index if r["name"] == "mlp" and r["version"] == "2")
    assert row["state"] == "UNAVAILABLE" and "republish" in row["reason"]
    assert str(repo) not in row["reason"] and str(repo) not in response.json()["error"]
    served = httpx.post(live.url + INFER, json=good_body).json()
    assert served["model_version"] == "1"


def test_reloading_a_model_whose_files_are_all_tampered_is_refused_and_keeps_serving(
    make_server: Any, tmp_path: Any, good_body: dict[str, Any]
) -> None:
    repo = build_repository(tmp_path / "reload-tampered")
    live = make_server(repo, admin_key="admin")
    for version in ("1", "2"):
        path = repo / "mlp" / version / "model.onnx"
        path.write_bytes(path.read_bytes() + b"\x00")
    response = httpx.post(
        live.url + "/v2/repository/models/mlp/load", headers={"X-Admin-Key": "admin"}
    )
    _refused(response, 400, "sha256")
    _still_serving(live.url, good_body)


def test_reloading_a_model_with_a_broken_manifest_is_refused_without_the_servers_paths(
    make_server: Any, tmp_path: Any, good_body: dict[str, Any]
) -> None:
    repo = build_repository(tmp_path / "reload-manifest")
    live = make_server(repo, admin_key="admin")
    (repo / "mlp" / "manifest.json").write_text("{not json")
    response = httpx.post(
        live.url + "/v2/repository/models/mlp/load", headers={"X-Admin-Key": "admin"}
    )
    _refused(response, 400, "manifest.json")
    assert str(tmp_path) not in response.json()["error"]
    _still_serving(live.url, good_body)


def test_a_full_queue_is_refused_at_once_with_503_and_retry_after(
    make_server: Any, tmp_path: Any, good_body: dict[str, Any]
) -> None:
    repo = tmp_path / "slow"
    publish_mlp(repo, "mlp", max_batch_size=2, max_queue_delay_us=400_000)
    live = make_server(repo, max_queue_size=2, batches_in_flight=1)

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=live.url, timeout=20) as client:
            return await asyncio.gather(*(client.post(INFER, json=good_body) for _ in range(12)))

    started = time.monotonic()
    responses = asyncio.run(burst())
    refused = [r for r in responses if r.status_code == 503]
    assert refused, [r.status_code for r in responses]
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    assert "retry" in refused[0].json()["error"]
    assert time.monotonic() - started < 15
    _still_serving(live.url, good_body)


def test_json_booleans_as_fp32_data_are_refused_with_400(
    url: str, good_body: dict[str, Any]
) -> None:
    body = copy.deepcopy(good_body)
    body["inputs"][0]["data"] = [True] * 64
    _refused(httpx.post(url + INFER, json=body), 400, "booleans")
    _still_serving(url, good_body)


def test_one_boolean_among_fp32_numbers_is_refused_too(url: str, good_body: dict[str, Any]) -> None:
    body = copy.deepcopy(good_body)
    body["inputs"][0]["data"] = [[0.5] * 63 + [False]]
    _refused(httpx.post(url + INFER, json=body), 400, "booleans")


def test_json_booleans_as_predict_rows_are_refused_with_400(
    url: str, good_body: dict[str, Any]
) -> None:
    response = httpx.post(url + "/predict", json={"model": "mlp", "inputs": [[True] * 64]})
    _refused(response, 400, "booleans")
    _still_serving(url, good_body)
