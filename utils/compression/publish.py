"""Publish a compressed file as the next version of a model, with its numbers.

The model-level fields (signature, labels, preprocessing) come from the model's current
manifest: a variant must answer the same requests as the versions already served, and
``publish_version`` refuses a file whose inputs/outputs differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from utils.deployment_helpers.manifest import Manifest, SourceInfo, VersionInfo, read_manifest
from utils.deployment_helpers.publishing import PublishedVersion, publish_version


def _opset(path: Path) -> int | None:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def publish_variant(
    onnx_file: Path,
    repository: Path,
    name: str,
    *,
    variant: str,
    metrics: dict[str, float],
    accuracy_budget: float | None = None,
    details: dict[str, Any] | None = None,
    source_version: int | None = None,
    template: Manifest | None = None,
) -> PublishedVersion:
    """Add ``onnx_file`` to ``repository/name`` as the next version.

    ``source_version`` is the version it was compressed from (recorded in details).
    ``template`` is only needed for a model that has no manifest yet.
    """
    manifest = template if template is not None else read_manifest(repository / name)
    record = VersionInfo(
        sha256="0" * 64,  # recomputed from the copied file by publish_version
        size_bytes=0,
        variant=variant,
        opset=_opset(onnx_file),
        source=SourceInfo(
            framework="onnx", file=f"version {source_version}" if source_version else None
        ),
        metrics={k: float(v) for k, v in metrics.items()},
        accuracy_budget=accuracy_budget,
        details={
            **(details or {}),
            **({"compressed_from_version": source_version} if source_version else {}),
        },
    )
    return publish_version(onnx_file, repository, manifest, record)
