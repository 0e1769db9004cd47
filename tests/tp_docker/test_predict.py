"""``POST /predict``: plain JSON in, the model's task's answers out (labels, values...)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tp_docker.tp_docker_server import build_repository


def test_rows_are_classified_with_labels_and_probabilities(server: Any) -> None:
    rows = np.random.default_rng(3).random((2, 64)).round(4).tolist()
    response = httpx.post(server.url + "/predict", json={"model": "mlp", "inputs": rows})
    assert response.status_code == 200
    body = response.json()
    model = server.app.state.plane.repository.get("mlp")
    logits = model.predict({"input": np.asarray(rows, np.float32)})["logits"]
    assert [p["index"] for p in body["predictions"]] == logits.argmax(axis=1).tolist()
    assert sum(body["predictions"][0]["probabilities"]) == pytest.approx(1.0, abs=1e-5)


def test_an_8x8_grid_is_reshaped_to_the_models_64_values(server: Any) -> None:
    grid = [[[0.5] * 8 for _ in range(8)]]
    response = httpx.post(server.url + "/predict", json={"model": "mlp", "inputs": grid})
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 1


def test_a_regressor_answers_its_values_per_row(server: Any) -> None:
    body = {"model": "adder", "inputs": {"a": [[1, 2, 3, 4]], "b": [[1, 1, 1, 1]]}}
    response = httpx.post(server.url + "/predict", json=body)
    assert response.json()["predictions"] == [{"values": [2.0, 3.0, 4.0, 5.0]}]


def test_a_specific_version_can_be_asked_for(server: Any) -> None:
    response = httpx.post(
        server.url + "/predict", json={"model": "mlp", "version": 1, "inputs": [[0.0] * 64]}
    )
    assert response.json()["version"] == 1


def test_rows_of_the_wrong_length_are_refused_with_the_expected_shape(server: Any) -> None:
    response = httpx.post(server.url + "/predict", json={"model": "mlp", "inputs": [[0.1, 0.2]]})
    assert response.status_code == 400
    assert "[-1, 64]" in response.json()["error"]


def test_a_body_without_the_model_field_is_refused_with_400_naming_the_models(
    server: Any,
) -> None:
    response = httpx.post(server.url + "/predict", json={"inputs": [[0.0] * 64]})
    assert response.status_code == 400
    assert response.json() == {"error": "missing field 'model': name one of adder, mlp"}


def test_a_body_field_of_the_wrong_type_is_refused_with_400_like_flask(server: Any) -> None:
    response = httpx.post(server.url + "/predict", json={"model": "mlp", "inputs": "rows"})
    assert response.status_code == 400
    assert "send numbers" in response.json()["error"]


def test_a_multi_input_model_needs_inputs_by_name(server: Any) -> None:
    response = httpx.post(
        server.url + "/predict", json={"model": "adder", "inputs": [[1, 2, 3, 4]]}
    )
    assert response.status_code == 400
    assert "several inputs" in response.json()["error"]


def _repository_caching_mlp_only(root: Path) -> Path:
    """mlp's config.pbtxt enables Triton's response cache; adder's does not."""
    repo = build_repository(root)
    config = repo / "mlp" / "config.pbtxt"
    config.write_text(config.read_text() + "response_cache {\n  enable: true\n}\n")
    return repo


def test_the_response_cache_answers_a_repeated_request_without_running_the_model(
    make_server: Any, tmp_path: Path
) -> None:
    live = make_server(_repository_caching_mlp_only(tmp_path / "m"), cache_size=16)
    body = {"model": "mlp", "inputs": [[0.3] * 64]}
    first = httpx.post(live.url + "/predict", json=body).json()
    second = httpx.post(live.url + "/predict", json=body).json()
    cache = live.app.state.plane.caches["mlp"]
    assert first["predictions"] == second["predictions"]
    assert (cache.hits, cache.misses) == (1, 1)


def test_a_model_without_a_response_cache_block_is_never_cached(
    make_server: Any, tmp_path: Path
) -> None:
    live = make_server(_repository_caching_mlp_only(tmp_path / "m"), cache_size=16)
    tensor = {"shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}
    body = {"inputs": [{"name": "a", **tensor}, {"name": "b", **tensor}]}
    for _ in range(2):
        response = httpx.post(live.url + "/v2/models/adder/infer", json=body)
        assert response.status_code == 200, response.text
    assert "adder" not in live.app.state.plane.caches


def test_a_cache_size_of_zero_turns_the_cache_off_even_for_a_model_asking_for_it(
    make_server: Any, tmp_path: Path
) -> None:
    live = make_server(_repository_caching_mlp_only(tmp_path / "m"), cache_size=0)
    body = {"model": "mlp", "inputs": [[0.3] * 64]}
    for _ in range(2):
        assert httpx.post(live.url + "/predict", json=body).status_code == 200
    assert live.app.state.plane.caches == {}
