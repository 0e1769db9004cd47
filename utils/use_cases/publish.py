"""Publish a use-case model afresh: all its versions, swapped in as one folder.

A rebuild describes new weights, so the old versions must go with it; building the whole
model folder beside the repository and renaming it into place means a server scanning
the repository sees the old model or the new one, never half of each.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from utils.deployment_helpers.manifest import Manifest, VersionInfo
from utils.deployment_helpers.publishing import publish_version


def publish_fresh(
    repository: Path,
    template: Manifest,
    versions: Sequence[tuple[Path, VersionInfo]],
    *,
    extra_files: dict[str, Path] | None = None,
) -> Path:
    """Write ``repository/<template.name>`` with ``versions`` as 1, 2, ... and return it.

    ``extra_files`` maps a file name inside the model folder (e.g. ``tokenizer.json``)
    to the file to copy there.
    """
    repository.mkdir(parents=True, exist_ok=True)
    name = template.name
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-build-", dir=repository))
    try:
        for number, (onnx_file, info) in enumerate(versions, start=1):
            publish_version(onnx_file, staging, template, info, version=number)
        for target_name, source in (extra_files or {}).items():
            shutil.copyfile(source, staging / name / target_name)
        target = repository / name
        old = repository / f".{name}-old"
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        (staging / name).rename(target)
        shutil.rmtree(old, ignore_errors=True)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)
