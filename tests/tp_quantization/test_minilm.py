"""The MiniLM path end to end: export, rank, quantize, publish (slow: ~2 minutes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.tp_quantization.conftest import run_tool
from utils.compression.session import create_session
from utils.deployment_helpers.manifest import read_manifest
from utils.text import tokenize

pytestmark = pytest.mark.slow

SENTENCES = [
    "The cat is sleeping on the warm windowsill.",
    "A tabby cat dozes on the ledge in the afternoon sun.",
    "Shares tumbled after the company missed its earnings forecast.",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("minilm")
    done = run_tool(
        "minilm.py",
        "--quick",
        "--keep-sensitive",
        "2",
        "--repository",
        str(work / "models"),
        "--results",
        str(work / "minilm.json"),
        cwd=work,
        timeout_s=900,
    )
    assert done.returncode == 0, done.stderr
    return work


def test_minilm_publishes_fp32_and_int8_with_the_tokenizer_beside_them(built: Path) -> None:
    manifest = read_manifest(built / "models" / "minilm")
    assert manifest.task == "embedding" and manifest.preprocessing.kind == "text"
    assert [manifest.version(v).variant for v in (1, 2)] == ["fp32", "int8-dynamic"]
    assert (built / "models" / "minilm" / "tokenizer.json").is_file()


def test_minilm_int8_is_at_most_a_quarter_of_fp32(built: Path) -> None:
    figures = json.loads((built / "minilm.json").read_text())
    assert figures["size_ratio"] <= 0.25


def test_minilm_int8_embeddings_stay_close_and_keep_paraphrases_together(built: Path) -> None:
    folder = built / "models" / "minilm"
    feed = tokenize(SENTENCES, folder / "tokenizer.json")
    fp32 = create_session(folder / "1" / "model.onnx").run(None, feed)[0]
    int8 = create_session(folder / "2" / "model.onnx").run(None, feed)[0]
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-3)
    assert ((fp32 * int8).sum(axis=1) > 0.98).all()
    assert int8[0] @ int8[1] > int8[0] @ int8[2]


def test_auto_mode_on_the_embedding_model_chooses_within_the_cosine_budget(built: Path) -> None:
    done = run_tool(
        "quantization_tools.py",
        "auto",
        "minilm",
        "--repository",
        str(built / "models"),
        "--sentences",
        "24",
        "--repeats",
        "10",
        "--dry-run",
        cwd=built,
        timeout_s=900,
    )
    assert done.returncode == 0, done.stderr
    assert "| min_cosine |" in done.stdout and "int8-4bit-embeddings-outliers" in done.stdout
    assert "worst cosine to fp32 >= 0.9900" in done.stdout
