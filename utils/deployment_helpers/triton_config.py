"""Triton's ``config.pbtxt``: generated from our manifest, read back for batching.

We write the file so that the same repository can be served by Triton (and KServe's Triton
runtime) unchanged. Our server reads back the fields it honours, ``max_batch_size``,
``dynamic_batching.max_queue_delay_microseconds`` and ``response_cache { enable: true }``,
so a Triton user tunes them where they already would. The reader handles only the flat
subset of protobuf text format that we write; the test-suite parses our files with
Triton's own ``model_config.proto`` schema to prove they are valid for Triton.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.deployment_helpers.manifest import Manifest, TensorSpec
from utils.errors import BadInput
from utils.io import write_atomic

CONFIG_FILE = "config.pbtxt"


@dataclass(frozen=True)
class BatchingConfig:
    """The fields our server takes from config.pbtxt: batching, and the response cache."""

    max_batch_size: int
    max_queue_delay_us: int
    response_cache: bool = False
    """Triton's ``response_cache { enable: true }``: answers of this model may be cached."""


def _tensor(spec: TensorSpec, batched: bool) -> dict[str, Any]:
    return {
        "name": spec.name,
        "data_type": f"TYPE_{'STRING' if spec.datatype == 'BYTES' else spec.datatype}",
        "dims": spec.shape[1:] if batched else spec.shape,
    }


def config_dict(manifest: Manifest, batching: BatchingConfig | None = None) -> dict[str, Any]:
    """Triton's model configuration as a dict: the one source of both config.pbtxt (written
    at publish) and the JSON that ``GET /v2/models/{name}/config`` answers.

    ``batching`` is what the server read back from config.pbtxt (an operator may have
    tuned it there); None takes the manifest's.
    """
    if batching is None:
        batching = BatchingConfig(
            manifest.batching.max_batch_size,
            manifest.batching.max_queue_delay_us,
            response_cache=manifest.batching.response_cache,
        )
    batched = batching.max_batch_size > 0
    config: dict[str, Any] = {
        "name": manifest.name,
        "platform": "onnxruntime_onnx",
        "max_batch_size": batching.max_batch_size,
        "version_policy": {"all": {}},
        "input": [_tensor(s, batched) for s in manifest.inputs],
        "output": [_tensor(s, batched) for s in manifest.outputs],
        "instance_group": [{"kind": "KIND_CPU", "count": 1}],
    }
    if batched:
        config["dynamic_batching"] = {"max_queue_delay_microseconds": batching.max_queue_delay_us}
    if batching.response_cache:
        config["response_cache"] = {"enable": True}
    return config


_ENUM = re.compile(r"(TYPE|KIND)_[A-Z0-9]+")


def _text(value: Any, indent: str) -> str:
    """One value in protobuf text format (the flat subset config_dict produces)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value if _ENUM.fullmatch(value) else f'"{value}"'
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = indent + "  "
        body = "\n".join(f"{inner}{k}: {_text(v, inner)}" for k, v in value.items())
        return "{\n" + body + "\n" + indent + "}"
    if isinstance(value, list):
        if all(isinstance(v, int) for v in value):
            return "[ " + ", ".join(str(v) for v in value) + " ]"
        inner = indent + "  "
        items = ",\n".join(inner + _text(v, inner) for v in value)
        return "[\n" + items + "\n" + indent + "]"
    raise TypeError(f"no text format for {value!r}")


def render_config(manifest: Manifest) -> str:
    """Return config.pbtxt text for a manifest (platform onnxruntime_onnx, all versions)."""
    lines = [
        "# Generated from manifest.json by utils.deployment_helpers.publish_version.",
        "# Our server also reads max_batch_size and max_queue_delay_microseconds here.",
    ]
    lines += [f"{key}: {_text(value, '')}" for key, value in config_dict(manifest).items()]
    return "\n".join(lines) + "\n"


def write_config(model_dir: Path, manifest: Manifest) -> Path:
    """Write ``model_dir/config.pbtxt`` atomically."""
    path = model_dir / CONFIG_FILE
    write_atomic(path, render_config(manifest).encode())
    return path


_MAX_BATCH = re.compile(r"^\s*max_batch_size\s*:\s*(\d+)", re.MULTILINE)
_QUEUE_DELAY = re.compile(r"max_queue_delay_microseconds\s*:\s*(\d+)")
_DYNAMIC = re.compile(r"^\s*dynamic_batching\s*[:{]", re.MULTILINE)
_RESPONSE_CACHE = re.compile(
    r"^\s*response_cache\s*:?\s*\{[^}]*\benable\s*:\s*true\b[^}]*\}", re.MULTILINE
)


def read_batching(model_dir: Path) -> BatchingConfig:
    """Read the batching fields of ``model_dir/config.pbtxt``.

    No ``dynamic_batching`` block means no queueing delay (requests run as they come),
    as in Triton. ``response_cache { enable: true }`` (Triton's own field) opts the model
    into the response cache. :raise BadInput: the file is missing or has no
    ``max_batch_size``.
    """
    path = model_dir / CONFIG_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise BadInput(f"{path} is missing: republish the model to regenerate it") from None
    match = _MAX_BATCH.search(text)
    if match is None:
        raise BadInput(f"{path} has no max_batch_size: add e.g. 'max_batch_size: 64'")
    delay = _QUEUE_DELAY.search(text) if _DYNAMIC.search(text) else None
    return BatchingConfig(
        int(match.group(1)),
        int(delay.group(1)) if delay else 0,
        response_cache=_RESPONSE_CACHE.search(text) is not None,
    )
