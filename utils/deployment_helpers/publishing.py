"""Publishing: put an ONNX file into a model repository as the next version.

The layout is Triton's (``<repo>/<model>/<version>/model.onnx`` + ``config.pbtxt``) plus
our ``manifest.json``. Publishing copies the file in under a temporary name and renames
it, then rewrites the manifest and config atomically, so a server scanning the repository
at the same moment sees either the old state or the new one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from utils.deployment_helpers.manifest import (
    Manifest,
    VersionInfo,
    read_manifest,
    write_manifest,
)
from utils.deployment_helpers.triton_config import write_config
from utils.errors import BadInput
from utils.io import atomic_path, sha256_file

MODEL_FILE = "model.onnx"


@dataclass(frozen=True)
class PublishedVersion:
    """Where a publish put the model, and the manifest as it now stands."""

    name: str
    version: int
    path: Path
    manifest: Manifest


def next_version(model_dir: Path) -> int:
    """One more than the highest numeric folder in ``model_dir`` (1 for a new model)."""
    existing = [int(p.name) for p in model_dir.glob("*") if p.is_dir() and p.name.isdecimal()]
    return max(existing, default=0) + 1


def publish_version(
    onnx_file: Path,
    repository: Path,
    template: Manifest,
    info: VersionInfo,
    *,
    version: int | None = None,
) -> PublishedVersion:
    """Copy ``onnx_file`` into ``repository/<template.name>/<version>/model.onnx``.

    ``template`` gives the model-level fields (signature, labels, preprocessing,
    batching); they replace the stored ones only when the model is new, so that a
    quantized variant cannot silently change the signature of served versions. ``info``
    describes this version; its sha256 and size are recomputed from the copied file.

    :raise BadInput: the version exists already, or the new file's signature differs from
        the model's.
    """
    if not template.name or "/" in template.name or template.name.startswith("."):
        raise BadInput(f"model name {template.name!r} is not a valid folder name")
    model_dir = repository / template.name
    model_dir.mkdir(parents=True, exist_ok=True)
    try:
        manifest = read_manifest(model_dir)
    except BadInput:
        if (model_dir / "manifest.json").exists():
            raise
        manifest = template.model_copy(update={"versions": {}})
    else:
        if (manifest.inputs, manifest.outputs) != (template.inputs, template.outputs):
            raise BadInput(
                f"{template.name}: the new file's inputs/outputs differ from the published "
                "versions'; publish it under another --name"
            )
    number = version if version is not None else next_version(model_dir)
    version_dir = model_dir / str(number)
    if version_dir.exists():
        raise BadInput(f"{version_dir} exists already: omit --version to take the next one")
    version_dir.mkdir()
    target = version_dir / MODEL_FILE
    with atomic_path(target) as tmp:
        shutil.copyfile(onnx_file, tmp)
    record = info.model_copy(
        update={
            "file": MODEL_FILE,
            "sha256": sha256_file(target),
            "size_bytes": target.stat().st_size,
        }
    )
    manifest.versions[str(number)] = record
    write_manifest(model_dir, manifest)
    write_config(model_dir, manifest)
    return PublishedVersion(template.name, number, target, manifest)
