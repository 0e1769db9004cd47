"""Which framework made a file, told from its name and its first bytes.

Detection reads a few bytes and never unpickles or imports a framework, so a wrong or
corrupt file is refused with a clear message before any code in it can run.
"""

from __future__ import annotations

import zipfile
from enum import StrEnum
from pathlib import Path
from typing import Final

from utils.errors import BadInput


class Framework(StrEnum):
    """The source framework of a model."""

    TORCH = "torch"
    KERAS = "keras"
    SKLEARN = "sklearn"


class SourceFormat(StrEnum):
    """How the model is stored; decides the loader."""

    TORCHSCRIPT = "torchscript"
    """``.pt``/``.pth`` written by ``torch.jit.script(m).save`` or ``torch.jit.trace``."""
    TORCH_SAVE = "torch-save"
    """``.pt``/``.pth`` written by ``torch.save``: a whole pickled ``nn.Module`` (runs code
    when loaded, like a ``.pkl``) or a ``state_dict`` (weights only: needs the class)."""
    TORCH_EXPORT = "torch-export"
    """``.pt2`` written by ``torch.export.save``."""
    KERAS = "keras"
    """Keras 3 ``.keras`` archive."""
    KERAS_H5 = "keras-h5"
    """Legacy Keras HDF5 ``.h5``/``.hdf5``."""
    SAVED_MODEL = "saved-model"
    """A TensorFlow SavedModel folder (``saved_model.pb`` + ``variables/``)."""
    PICKLE = "pickle"
    """``.pkl``/``.pickle``/``.joblib``: unpickling runs code, load only files you trust."""
    SKOPS = "skops"
    """``.skops``: scikit-learn's safe format, loads no code."""


_ZIP_MAGIC: Final = b"PK\x03\x04"
_HDF5_MAGIC: Final = b"\x89HDF\r\n\x1a\n"
_PICKLE_PROTO: Final = 0x80

_SUFFIXES: Final[dict[str, tuple[Framework, SourceFormat]]] = {
    ".pt": (Framework.TORCH, SourceFormat.TORCHSCRIPT),
    ".pth": (Framework.TORCH, SourceFormat.TORCHSCRIPT),
    ".pt2": (Framework.TORCH, SourceFormat.TORCH_EXPORT),
    ".keras": (Framework.KERAS, SourceFormat.KERAS),
    ".h5": (Framework.KERAS, SourceFormat.KERAS_H5),
    ".hdf5": (Framework.KERAS, SourceFormat.KERAS_H5),
    ".pkl": (Framework.SKLEARN, SourceFormat.PICKLE),
    ".pickle": (Framework.SKLEARN, SourceFormat.PICKLE),
    ".joblib": (Framework.SKLEARN, SourceFormat.PICKLE),
    ".skops": (Framework.SKLEARN, SourceFormat.SKOPS),
}

SUPPORTED: Final[str] = ", ".join([*_SUFFIXES, "a SavedModel folder"])


def _check_magic(path: Path, fmt: SourceFormat) -> None:
    with path.open("rb") as handle:
        head = handle.read(8)
    if not head:
        raise BadInput(f"{path} is empty (0 bytes): export the model again")
    expected = {
        SourceFormat.TORCHSCRIPT: (_ZIP_MAGIC, "a TorchScript zip archive"),
        SourceFormat.TORCH_EXPORT: (_ZIP_MAGIC, "a torch.export archive"),
        SourceFormat.KERAS: (_ZIP_MAGIC, "a .keras zip archive"),
        SourceFormat.SKOPS: (_ZIP_MAGIC, "a skops zip archive"),
        SourceFormat.KERAS_H5: (_HDF5_MAGIC, "an HDF5 file"),
    }
    if fmt in expected:
        magic, what = expected[fmt]
        if not head.startswith(magic):
            raise BadInput(f"{path} is not {what} (corrupt or mis-named): export the model again")
    elif fmt is SourceFormat.PICKLE and path.suffix != ".joblib" and head[0] != _PICKLE_PROTO:
        raise BadInput(f"{path} is not a pickle file (corrupt or mis-named): save it again")


def detect_format(path: Path) -> tuple[Framework, SourceFormat]:
    """Return the framework and storage format of ``path``.

    :raise BadInput: the path does not exist, has an unknown extension, or its first
        bytes contradict its extension (truncated, corrupt or renamed).
    """
    if not path.exists():
        raise BadInput(f"{path} does not exist: check the --input path")
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            return Framework.KERAS, SourceFormat.SAVED_MODEL
        raise BadInput(f"{path} is a folder without saved_model.pb: pass a model file")
    try:
        framework, fmt = _SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise BadInput(
            f"{path.name}: unknown model extension {path.suffix or '(none)'!r}; expected one of "
            f"{SUPPORTED}"
        ) from None
    _check_magic(path, fmt)
    if fmt is SourceFormat.TORCHSCRIPT and not _is_torchscript_archive(path):
        fmt = SourceFormat.TORCH_SAVE
    return framework, fmt


def _is_torchscript_archive(path: Path) -> bool:
    """TorchScript archives hold compiled ``code/``; ``torch.save`` archives only ``data.pkl``."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(
                "/code/" in name or name.endswith("constants.pkl") for name in archive.namelist()
            )
    except zipfile.BadZipFile:
        raise BadInput(f"{path} is not a torch zip archive (corrupt or mis-named)") from None
