"""The model repository and the serving core.

Public doors (import from here, not from the submodules):
- the manifest schema and its reader/writer (``manifest``),
- Triton's config.pbtxt writer and batching reader (``triton_config``),
- publishing a new version (``publishing``).
The serving core (``ServedModel``, ``ModelRepository``, batching, the v2 codec) is added
beside them by the inference-server work.
"""

from utils.deployment_helpers.manifest import (
    Batching,
    Manifest,
    OptimizationReport,
    ParityReport,
    Preprocessing,
    SourceInfo,
    TensorSpec,
    VersionInfo,
    read_manifest,
    write_manifest,
)
from utils.deployment_helpers.publishing import PublishedVersion, next_version, publish_version
from utils.deployment_helpers.triton_config import BatchingConfig, read_batching, render_config

__all__ = [
    "Batching",
    "BatchingConfig",
    "Manifest",
    "OptimizationReport",
    "ParityReport",
    "Preprocessing",
    "PublishedVersion",
    "SourceInfo",
    "TensorSpec",
    "VersionInfo",
    "next_version",
    "publish_version",
    "read_batching",
    "read_manifest",
    "render_config",
    "write_manifest",
]
