"""The model repository and the serving core.

Public doors (import from here, not from the submodules):
- the manifest schema and its reader/writer (``manifest``),
- Triton's config.pbtxt writer and batching reader (``triton_config``),
- publishing a new version (``publishing``).
- the serving core: ``ModelRepository`` (scan, verify, load, hot swap), ``ServedModel``
  (session + signature + validation), ``InferenceScheduler`` (dynamic batching), the v2
  codec (``decode_request``/``encode_response``) and the optional ``ResponseCache``.
"""

from utils.deployment_helpers.batching import DynamicBatcher, InferenceScheduler
from utils.deployment_helpers.cache import ResponseCache
from utils.deployment_helpers.codec import (
    DATATYPE_TO_NUMPY,
    NUMPY_TO_DATATYPE,
    InferRequest,
    decode_request,
    encode_response,
)
from utils.deployment_helpers.manifest import (
    Batching,
    InputKind,
    Manifest,
    OptimizationReport,
    ParityReport,
    Postprocessing,
    Preprocessing,
    SourceInfo,
    Standardization,
    Task,
    TensorSpec,
    VersionInfo,
    read_manifest,
    write_manifest,
)
from utils.deployment_helpers.publishing import PublishedVersion, next_version, publish_version
from utils.deployment_helpers.repository import ModelRepository, ModelState
from utils.deployment_helpers.served_model import ServedModel, load_served_model
from utils.deployment_helpers.signature import Signature
from utils.deployment_helpers.triton_config import BatchingConfig, read_batching, render_config

__all__ = [
    "DATATYPE_TO_NUMPY",
    "NUMPY_TO_DATATYPE",
    "Batching",
    "BatchingConfig",
    "DynamicBatcher",
    "InferRequest",
    "InferenceScheduler",
    "InputKind",
    "Manifest",
    "ModelRepository",
    "ModelState",
    "OptimizationReport",
    "ParityReport",
    "Postprocessing",
    "Preprocessing",
    "PublishedVersion",
    "ResponseCache",
    "ServedModel",
    "Signature",
    "SourceInfo",
    "Standardization",
    "Task",
    "TensorSpec",
    "VersionInfo",
    "decode_request",
    "encode_response",
    "load_served_model",
    "next_version",
    "publish_version",
    "read_batching",
    "read_manifest",
    "render_config",
    "write_manifest",
]
