"""The sentiment model end to end (slow: it needs MiniLM, ~2 min from a fresh clone when
models/minilm is missing, then ~1 min for the head, the graphs and the measurements)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.use_cases.conftest import results, run_script
from utils.deployment_helpers.manifest import read_manifest
from utils.paths import DEFAULT_MODEL_REPOSITORY, PROJECT_ROOT
from utils.runtime import create_session
from utils.text import tokenize

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build_sentiment.py run into a temporary folder (MiniLM built first if missing)."""
    work = tmp_path_factory.mktemp("sentiment")
    minilm = DEFAULT_MODEL_REPOSITORY / "minilm"
    if not (minilm / "2" / "model.onnx").is_file():
        minilm = work / "models" / "minilm"
        done = subprocess.run(
            [
                sys.executable,
                str(PROJECT_ROOT / "TP_Quantization" / "minilm.py"),
                "--repository",
                str(work / "models"),
                "--results",
                str(work / "minilm.json"),
            ],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert done.returncode == 0, done.stderr
    done = run_script("build_sentiment.py", "--minilm", str(minilm), "--out", str(work), cwd=work)
    assert done.returncode == 0, done.stderr
    return work


def test_sentiment_takes_token_ids_and_answers_two_probabilities(built: Path) -> None:
    folder = built / "models" / "sentiment"
    manifest = read_manifest(folder)
    session = create_session(folder / "1" / "model.onnx")
    assert (manifest.task, manifest.preprocessing.kind, manifest.labels) == (
        "classification",
        "text",
        ["negative", "positive"],
    )
    assert (folder / (manifest.preprocessing.tokenizer or "")).is_file()
    assert [(i.name, i.type) for i in session.get_inputs()] == [
        ("input_ids", "tensor(int64)"),
        ("attention_mask", "tensor(int64)"),
    ]
    assert [(o.name, o.type, o.shape[1]) for o in session.get_outputs()] == [
        ("probabilities", "tensor(float)", 2)
    ]


def test_sentiment_reads_clear_sentences_right_in_fp32_and_int8(built: Path) -> None:
    folder = built / "models" / "sentiment"
    feed = tokenize(
        [
            "I absolutely loved this hotel, the staff were wonderful.",
            "The food was cold and the waiter was rude.",
        ],
        folder / "tokenizer.json",
    )
    for version in ("1", "2"):
        probabilities = create_session(folder / version / "model.onnx").run(None, feed)[0]
        assert probabilities.argmax(axis=1).tolist() == [1, 0]
        assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_int8_stays_within_one_accuracy_point_of_fp32(built: Path) -> None:
    figures = json.loads((built / "sentiment.json").read_text())
    assert figures["int8"]["accuracy"] >= figures["fp32"]["accuracy"] - 0.01


def test_fp32_graph_matches_the_scikit_learn_head(built: Path) -> None:
    parity = json.loads((built / "sentiment.json").read_text())["parity_fp32_vs_sklearn"]
    assert parity["passed"] and parity["max_abs_diff"]["probabilities"] < 1e-5


def test_the_build_reproduces_the_committed_figures(built: Path) -> None:
    rebuilt = json.loads((built / "sentiment.json").read_text())
    committed = results("sentiment")
    assert rebuilt["fp32"]["confusion_matrix"] == committed["fp32"]["confusion_matrix"]
    assert rebuilt["int8"]["accuracy"] == pytest.approx(committed["int8"]["accuracy"], abs=0.01)
