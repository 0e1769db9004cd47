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
from utils.deployment_helpers.tasks.detection import Detection
from utils.deployment_helpers.tasks.embedding import Embedding, cosine_matrix
from utils.deployment_helpers.tasks.images import (
    IMAGE_FIELD,
    Picture,
    checked_upload,
    not_multipart,
)
from utils.deployment_helpers.tasks.inputs import (
    KINDS,
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
TASKS[Detection.name] = Detection()
KINDS[Picture.name] = Picture()  # images.py builds on inputs.py, so it registers here


def task_kind_of(manifest: Manifest) -> TaskKind:
    """The task kind a manifest declares (raw outputs for a task with no kind yet)."""
    return TASKS.get(manifest.task, TaskKind())


__all__ = [
    "IMAGE_FIELD",
    "Feed",
    "InputKind",
    "Row",
    "TaskKind",
    "UploadLimits",
    "checked_upload",
    "cosine_matrix",
    "input_kind_of",
    "not_multipart",
    "task_kind_of",
    "token_limits",
]
