"""Root fixtures shared by every test folder; each area keeps its own conftest.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from utils.paths import DEFAULT_MODEL_REPOSITORY, PROJECT_ROOT

MINILM_SCRIPT = PROJECT_ROOT / "TP_Quantization" / "minilm.py"
"""What ``make minilm`` runs."""
MINILM_BUILD_TIMEOUT_S = 900
SENTIMENT_SCRIPT = PROJECT_ROOT / "TP_ONNX" / "use_cases" / "build_sentiment.py"
"""What ``make sentiment`` runs."""

# Quiet and deterministic framework start-up in every test process and subprocess.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def minilm_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository holding the committed models and MiniLM: ``models/`` when MiniLM was
    built there (``make minilm``), else a private one built here, once per session.

    MiniLM is git-ignored (90 MB), so CI has none: skipping would leave text serving
    untested for ever. The build is the script ``make minilm`` runs, with ``--quick``
    (~2 minutes on 2 cores), into a temporary folder, so neither models/ nor the committed
    results change. Only ``slow`` tests use this.
    """
    if (DEFAULT_MODEL_REPOSITORY / "minilm" / "manifest.json").is_file():
        return DEFAULT_MODEL_REPOSITORY
    work = tmp_path_factory.mktemp("minilm-repository")
    repository = work / "models"
    for manifest in sorted(DEFAULT_MODEL_REPOSITORY.glob("*/manifest.json")):
        shutil.copytree(manifest.parent, repository / manifest.parent.name)
    done = subprocess.run(
        [
            sys.executable,
            str(MINILM_SCRIPT),
            "--quick",
            "--repository",
            str(repository),
            "--results",
            str(work / "minilm.json"),
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=MINILM_BUILD_TIMEOUT_S,
    )
    assert done.returncode == 0, f"building MiniLM failed:\n{done.stdout}\n{done.stderr}"
    assert (repository / "minilm" / "manifest.json").is_file(), done.stdout
    return repository


@pytest.fixture(scope="session")
def sentiment_repository(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Path:
    """A repository serving only ``sentiment``: ``models/sentiment`` when ``make sentiment``
    built it, else built here once per session by the script ``make sentiment`` runs, on
    the MiniLM of ``minilm_repository`` (asked for only then): ~1 min, plus ~2 min when
    MiniLM has to be built too. Git-ignored like MiniLM, so only ``slow`` tests use it.
    """
    repository = tmp_path_factory.mktemp("sentiment-repository") / "models"
    built = DEFAULT_MODEL_REPOSITORY / "sentiment"
    if not (built / "2" / "model.onnx").is_file():
        minilm = request.getfixturevalue("minilm_repository") / "minilm"
        work = repository.parent / "build"
        done = subprocess.run(
            [sys.executable, str(SENTIMENT_SCRIPT), "--minilm", str(minilm), "--out", str(work)],
            cwd=repository.parent,
            capture_output=True,
            text=True,
            timeout=MINILM_BUILD_TIMEOUT_S,
        )
        assert done.returncode == 0, f"building sentiment failed:\n{done.stdout}\n{done.stderr}"
        built = work / "models" / "sentiment"
    # hard links where the file system allows (a symlink leading outside the repository
    # is refused by the repository scan, on purpose), else a copy
    shutil.copytree(built, repository / "sentiment", copy_function=_link_or_copy)
    return repository


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
