"""The Flask app's share of issue 10's faults: a version that cannot run, an attacker's
nesting and an image bomb are answered 4xx (or served around), never a crash or a 500."""

from __future__ import annotations

import io
import shutil
import struct
import zlib
from pathlib import Path

from flask.testing import FlaskClient
from PIL import Image

from TP_Flask.app import create_app
from TP_Flask.settings import Settings
from utils.testing.toy_models import mlp_manifest, publish_onnx, reshape_fails_onnx


def test_the_app_starts_and_serves_when_a_model_cannot_run(
    tmp_path: Path, model_repository: Path
) -> None:
    repository = tmp_path / "models"
    shutil.copytree(model_repository / "digits_torch", repository / "digits_torch")
    publish_onnx(reshape_fails_onnx(tmp_path / "bad.onnx"), repository, mlp_manifest("a_broken"))
    client = create_app(Settings(model_repository=repository, log_format="text")).test_client()
    states = {m["name"]: m["state"] for m in client.get("/api/models").get_json()["models"]}
    assert states == {"a_broken": "UNAVAILABLE", "digits_torch": "READY"}
    response = client.post("/api/predict", json={"model": "digits_torch", "inputs": [0.5] * 64})
    assert response.status_code == 200


def test_inputs_nested_5000_deep_are_a_400(client: FlaskClient) -> None:
    body = b'{"inputs": ' + b"[" * 5000 + b"0.5" + b"]" * 5000 + b"}"
    response = client.post("/api/predict", data=body, content_type="application/json")
    assert response.status_code == 400


def _png_with_a_100_mb_text_chunk() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (28, 28), 255).save(buffer, "PNG")
    png = buffer.getvalue()
    payload = b"Comment\x00\x00" + zlib.compress(b"A" * (100 * 1024 * 1024), 9)
    crc = struct.pack(">I", zlib.crc32(b"zTXt" + payload) & 0xFFFFFFFF)
    chunk = struct.pack(">I", len(payload)) + b"zTXt" + payload + crc
    return png[:33] + chunk + png[33:]  # right after the IHDR chunk


def test_a_png_whose_text_chunk_inflates_to_100_mb_is_a_400(client: FlaskClient) -> None:
    data = _png_with_a_100_mb_text_chunk()
    response = client.post(
        "/api/predict",
        data={"image": (io.BytesIO(data), "bomb.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "metadata" in response.get_json()["error"]
