"""The student's models served (issue 11): both apps, real servers on 127.0.0.1, the v2
protocol, tritonclient and the course's client script, on the student's own rows.

Each answer is compared with onnxruntime run on the published file with no server in
between, so a server that reshaped, rescaled or relabelled a row would be caught.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tp_docker.tp_docker_server import LiveServer

from utils.deployment_helpers.manifest import read_manifest
from utils.paths import PROJECT_ROOT

from .conftest import Compressed, Student
from .walk import FRAMEWORKS, onnxruntime_classes, onnxruntime_outputs, student_rows

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

CLIENT = PROJECT_ROOT / "TP_Docker" / "client.py"
ROWS = 16
"""Rows per request: under every model's batch limit."""


def _v2_body(x: np.ndarray) -> dict[str, Any]:
    tensor = {"name": "input", "shape": list(x.shape), "datatype": "FP32"}
    return {"inputs": [{**tensor, "data": x.ravel().tolist()}]}


def _predict(url: str, name: str, rows: list[list[float]], version: int | None = None) -> Any:
    body: dict[str, Any] = {"model": name, "inputs": rows}
    if version is not None:
        body["version"] = version
    response = httpx.post(url, json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_v2_infer_answers_what_onnxruntime_answers_on_the_published_file(
    api: LiveServer, compressed: Compressed, name: str
) -> None:
    x = student_rows(compressed.repository, name)[0][:ROWS]
    response = httpx.post(f"{api.url}/v2/models/{name}/versions/1/infer", json=_v2_body(x))
    assert response.status_code == 200, response.text
    served = {o["name"]: o for o in response.json()["outputs"]}
    for output, expected in onnxruntime_outputs(compressed.repository, name, 1, x).items():
        got = np.asarray(served[output]["data"]).reshape(served[output]["shape"])
        if expected.dtype.kind in "OSU":  # the forest's class names (BYTES)
            assert got.tolist() == expected.tolist(), output
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=output)


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_predict_names_the_class_onnxruntime_gives_in_both_apps(
    api: LiveServer, page_url: str, compressed: Compressed, name: str
) -> None:
    x = student_rows(compressed.repository, name)[0][:ROWS]
    expected = onnxruntime_classes(compressed.repository, name, 1, x)
    from_api = _predict(f"{api.url}/predict", name, x.tolist(), version=1)["predictions"]
    from_page = _predict(f"{page_url}/api/predict", name, x.tolist(), version=1)["predictions"]
    assert [p["label"] for p in from_api] == expected
    assert from_page == from_api


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_tritonclient_infers_each_student_model_unchanged(
    api: LiveServer, compressed: Compressed, name: str
) -> None:
    x = student_rows(compressed.repository, name)[0][:ROWS]
    client = triton.InferenceServerClient(api.host_port, connection_timeout=5, network_timeout=10)
    try:
        tensor = triton.InferInput("input", list(x.shape), "FP32")
        tensor.set_data_from_numpy(x, binary_data=True)
        result = client.infer(name, [tensor], model_version="1")
        metadata = client.get_model_metadata(name)
    finally:
        client.close()
    scores = read_manifest(compressed.repository / name).scores_output or ""
    expected = onnxruntime_outputs(compressed.repository, name, 1, x)[scores]
    np.testing.assert_allclose(result.as_numpy(scores), expected, rtol=1e-5, atol=1e-6)
    assert metadata["inputs"][0]["shape"] == [-1, x.shape[1]]


@pytest.mark.parametrize(
    ("name", "rows"), [("iris_forest", "iris_test"), ("wine_mlp", "wine_test_x")]
)
def test_the_client_script_prints_the_class_name_of_the_students_first_row(
    api: LiveServer, compressed: Compressed, student: Student, name: str, rows: str
) -> None:
    done = subprocess.run(
        [sys.executable, str(CLIENT), "--url", api.url, "--rows", str(getattr(student, rows)),
         "--model", name],
        cwd=student.folder, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines() if line.startswith(name)]
    x = student_rows(compressed.repository, name)[0][:1]
    expected = onnxruntime_classes(compressed.repository, name, 1, x)[0]
    assert [line[3] for line in lines if line[1] == "1"] == [expected], done.stdout


# -- bad input: what a student gets wrong first, through both apps ------------------------

WINE_ROW = [13.2, 1.78, 2.14, 11.2, 100.0, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050.0]
BAD_WINE_BODIES = {
    "4 values to a 13-feature model": b'{"model": "wine_mlp", "inputs": [[5.1, 3.5, 1.4, 0.2]]}',
    "a string": b'{"model": "wine_mlp", "inputs": [["13.2", "1.78"]]}',
    "NaN": (
        b'{"model": "wine_mlp", "inputs": [['
        + b", ".join(b"NaN" if i == 3 else str(v).encode() for i, v in enumerate(WINE_ROW))
        + b"]]}"
    ),
}


@pytest.mark.parametrize("case", BAD_WINE_BODIES)
def test_bad_input_is_a_400_naming_the_models_13_features_in_both_apps(
    api: LiveServer, page_url: str, case: str
) -> None:
    headers = {"content-type": "application/json"}
    body = BAD_WINE_BODIES[case]
    from_api = httpx.post(f"{api.url}/predict", content=body, headers=headers)
    from_page = httpx.post(f"{page_url}/api/predict", content=body, headers=headers)
    assert from_api.status_code == from_page.status_code == 400
    assert from_api.json()["error"] == from_page.json()["error"]
    assert "rows of 13 numbers" in from_api.json()["error"], from_api.json()


def test_a_v2_tensor_of_the_wrong_width_is_told_the_models_shape(api: LiveServer) -> None:
    x = np.zeros((1, 4), np.float32)
    response = httpx.post(f"{api.url}/v2/models/wine_mlp/infer", json=_v2_body(x))
    assert response.status_code == 400
    assert "takes [-1, 13]" in response.json()["error"]


# -- the compressed version, beside v1 -----------------------------------------------------


@pytest.mark.parametrize("name", ["wine_mlp", "cancer_keras"])
def test_the_compressed_version_is_served_beside_v1_by_its_version_in_the_url(
    api: LiveServer, compressed: Compressed, name: str
) -> None:
    x = student_rows(compressed.repository, name)[0][:ROWS]
    metadata = httpx.get(f"{api.url}/v2/models/{name}").json()
    v2 = httpx.get(f"{api.url}/v2/models/{name}/versions/2").json()
    response = httpx.post(f"{api.url}/v2/models/{name}/versions/2/infer", json=_v2_body(x))
    assert metadata["versions"] == ["1", "2"]
    assert v2["parameters"]["variant"] != "fp32"
    assert response.json()["model_version"] == "2"


@pytest.mark.parametrize("name", ["wine_mlp", "cancer_keras"])
def test_the_compressed_version_answers_within_the_gates_budget_of_v1_on_the_students_rows(
    api: LiveServer, compressed: Compressed, name: str
) -> None:
    x, y = student_rows(compressed.repository, name)
    manifest = read_manifest(compressed.repository / name)
    batch = manifest.batching.max_batch_size
    accuracy = {}
    for version in (1, 2):
        classes = [
            p["index"]
            for start in range(0, len(x), batch)
            for p in _predict(
                f"{api.url}/predict", name, x[start : start + batch].tolist(), version
            )["predictions"]
        ]
        accuracy[version] = float((np.asarray(classes) == y).mean())
    budget = manifest.versions["2"].accuracy_budget
    assert budget is not None and budget <= 0.01
    assert accuracy[2] >= accuracy[1] - budget, accuracy
    assert accuracy[1] == pytest.approx(manifest.versions["1"].metrics["accuracy"])
