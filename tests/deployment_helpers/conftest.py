"""Fixtures: a throw-away model repository of tiny ONNX models built with onnx.helper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from utils.deployment_helpers import ModelRepository
from utils.testing.toy_models import publish_adder, publish_mlp


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """``mlp`` with versions 1 and 2 (different weights), and the two-input ``adder``."""
    root = tmp_path / "models"
    publish_mlp(root, "mlp", seed=1, max_batch_size=8)
    publish_mlp(root, "mlp", seed=2, max_batch_size=8)
    publish_adder(root)
    return root


@pytest.fixture
def repository(repo_dir: Path) -> ModelRepository:
    repo = ModelRepository(repo_dir)
    repo.load_all()
    return repo


@pytest.fixture
def rows() -> NDArray[np.float32]:
    return np.random.default_rng(0).random((4, 64), dtype=np.float32)
