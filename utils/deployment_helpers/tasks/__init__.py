"""Task kinds (what outputs mean) and input kinds (what a person sends), by manifest.

``task_kind_of(manifest)`` and ``input_kind_of(manifest)`` are the only doors: the data
plane calls them once per model version at load and keeps the answer on the served model.
"""

from __future__ import annotations

from typing import Final

from utils.deployment_helpers.manifest import Manifest
from utils.deployment_helpers.tasks.anomaly import Anomaly
from utils.deployment_helpers.tasks.base import Feed, Row, TaskKind
from utils.deployment_helpers.tasks.classification import Classification
from utils.deployment_helpers.tasks.embedding import Embedding, cosine_matrix
from utils.deployment_helpers.tasks.inputs import (
    InputKind,
    UploadLimits,
    input_kind_of,
    token_limits,
)
from utils.deployment_helpers.tasks.values import Forecasting, Regression

TASKS: Final[dict[str, TaskKind]] = {
    kind.name: kind
    for kind in (Classification(), Regression(), Forecasting(), Embedding(), Anomaly())
}


def task_kind_of(manifest: Manifest) -> TaskKind:
    """The task kind a manifest declares (raw outputs for a task with no kind yet)."""
    return TASKS.get(manifest.task, TaskKind())


__all__ = [
    "Feed",
    "InputKind",
    "Row",
    "TaskKind",
    "UploadLimits",
    "cosine_matrix",
    "input_kind_of",
    "task_kind_of",
    "token_limits",
]
