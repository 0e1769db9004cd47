"""Publish a compressed file as the next version of a model, with its numbers.

The model-level fields (signature, labels, preprocessing) come from the model's current
manifest: a variant must answer the same requests as the versions already served, and
``publish_version`` refuses a file whose inputs/outputs differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from utils.deployment_helpers.manifest import (
    EvaluationData,
    Manifest,
    SourceInfo,
    VersionInfo,
    read_manifest,
)
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
    evaluation: EvaluationData | None = None,
) -> PublishedVersion:
    """Add ``onnx_file`` to ``repository/name`` as the next version.

    ``source_version`` is the version it was compressed from (recorded in details).
    ``template`` is only needed for a model that has no manifest yet. ``evaluation`` is
    the record of the rows ``metrics`` were measured on (the quality gate re-scores there).
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
        evaluation=evaluation,
        details={
            **(details or {}),
            **({"compressed_from_version": source_version} if source_version else {}),
        },
    )
    return publish_version(onnx_file, repository, manifest, record)


def retire_stale_variants(repository: Path, name: str, source_sha256: str) -> list[int]:
    """Remove compressed versions made from an fp32 file that is no longer the current one.

    After `make models` retrains a model, its old int8/fp16 versions describe weights that
    are gone: serving them would serve a model nobody can rebuild. Only versions this
    toolkit compressed (they record ``details.source_sha256``) are touched; fp32 versions
    and anything published by hand stay. The manifest and config.pbtxt are rewritten
    first, so a server never finds a manifest entry without its folder.
    """
    import shutil

    from utils.deployment_helpers.manifest import write_manifest
    from utils.deployment_helpers.triton_config import write_config

    model_dir = repository / name
    manifest = read_manifest(model_dir)
    stale = [
        int(number)
        for number, info in manifest.versions.items()
        if info.variant != "fp32"
        and "source_sha256" in info.details
        and info.details["source_sha256"] != source_sha256
    ]
    if not stale:
        return []
    for number in stale:
        del manifest.versions[str(number)]
    write_manifest(model_dir, manifest)
    write_config(model_dir, manifest)
    for number in stale:
        shutil.rmtree(model_dir / str(number), ignore_errors=True)
    return sorted(stale)
