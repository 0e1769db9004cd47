"""The official Triton HTTP client works against our server, unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException


@pytest.fixture
def client(server: Any) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(
        server.host_port, connection_timeout=5, network_timeout=10
    )
    yield client
    client.close()


def _input(x: np.ndarray, *, binary: bool = True) -> triton.InferInput:
    tensor = triton.InferInput("input", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=binary)
    return tensor


def test_server_is_live_and_ready(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live() and client.is_server_ready()


def test_server_metadata_lists_the_extensions(client: triton.InferenceServerClient) -> None:
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]


def test_model_metadata_gives_the_signature_and_versions(
    client: triton.InferenceServerClient,
) -> None:
    meta = client.get_model_metadata("mlp")
    assert meta["versions"] == ["1", "2"]
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 64]}]


def test_model_and_version_readiness(client: triton.InferenceServerClient) -> None:
    assert client.is_model_ready("mlp") and client.is_model_ready("mlp", "1")


def test_model_config_carries_the_batching_fields(client: triton.InferenceServerClient) -> None:
    config = client.get_model_config("mlp")
    assert config["max_batch_size"] == 8
    assert config["input"][0]["dims"] == [64]


def test_binary_inference_matches_the_model_run_in_process(
    client: triton.InferenceServerClient, server: Any
) -> None:
    x = np.random.default_rng(1).random((3, 64), dtype=np.float32)
    result = client.infer("mlp", [_input(x)])
    assert result.get_output("logits")["parameters"]["binary_data_size"] == 3 * 10 * 4
    expected = server.app.state.plane.repository.get("mlp").predict({"input": x})["logits"]
    np.testing.assert_allclose(result.as_numpy("logits"), expected, rtol=1e-5, atol=1e-6)


def test_json_inference_of_an_older_version(
    client: triton.InferenceServerClient, server: Any
) -> None:
    x = np.random.default_rng(2).random((2, 64), dtype=np.float32)
    outputs = [triton.InferRequestedOutput("logits", binary_data=False)]
    result = client.infer("mlp", [_input(x, binary=False)], model_version="1", outputs=outputs)
    expected = server.app.state.plane.repository.get("mlp", 1).predict({"input": x})["logits"]
    np.testing.assert_allclose(result.as_numpy("logits"), expected, rtol=1e-5, atol=1e-6)
    assert result.get_response()["model_version"] == "1"


def test_an_unknown_model_raises_with_the_servers_message(
    client: triton.InferenceServerClient,
) -> None:
    with pytest.raises(InferenceServerException, match="does not exist"):
        client.get_model_metadata("resnet")


def test_repository_index_lists_every_version(client: triton.InferenceServerClient) -> None:
    rows = {(r["name"], r["version"], r["state"]) for r in client.get_model_repository_index()}
    assert ("mlp", "2", "READY") in rows and ("adder", "1", "READY") in rows


def test_unload_and_load_with_the_admin_key(client: triton.InferenceServerClient) -> None:
    admin = {"X-Admin-Key": "admin-secret"}
    client.unload_model("adder", headers=admin)
    assert not client.is_model_ready("adder")
    client.load_model("adder", headers=admin)
    assert client.is_model_ready("adder")


def test_load_without_the_admin_key_is_refused(client: triton.InferenceServerClient) -> None:
    with pytest.raises(InferenceServerException, match="admin key"):
        client.load_model("adder")
