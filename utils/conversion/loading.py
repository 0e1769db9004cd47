"""Load a source model from disk, turning every loader's failure into one clear error.

Frameworks are imported inside each loader, so only the one a file needs is paid for.
Unpickling runs code stored in the file: :func:`load_sklearn` accepts a pickle only from
the caller's explicit choice of path, and prefers skops, which loads no code.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

from utils.conversion.detect import SourceFormat
from utils.errors import BadInput


def load_torch(path: Path, fmt: SourceFormat) -> Any:
    """Load a TorchScript module (``.pt``) or a torch.export program (``.pt2``)."""
    import torch

    try:
        if fmt is SourceFormat.TORCH_EXPORT:
            return torch.export.load(str(path))
        return torch.jit.load(str(path), map_location="cpu").eval()  # type: ignore[no-untyped-call]
    except Exception as exc:  # torch raises RuntimeError, ValueError, zipfile errors ...
        hint = (
            "save it with torch.export.save(torch.export.export(model, (x,)), path)"
            if fmt is SourceFormat.TORCH_EXPORT
            else "save it with torch.jit.script(model).save(path) (a state_dict is not a model)"
        )
        raise BadInput(
            f"{path.name} could not be loaded by torch ({_first_line(exc)}): {hint}"
        ) from None


def load_keras(path: Path, fmt: SourceFormat) -> Any:
    """Load a Keras model (``.keras``/``.h5``) or a TensorFlow SavedModel folder."""
    import keras
    import tensorflow as tf

    try:
        if fmt is SourceFormat.SAVED_MODEL:
            return tf.saved_model.load(str(path))
        return keras.models.load_model(str(path), compile=False)
    except Exception as exc:  # keras raises ValueError, OSError, zipfile.BadZipFile ...
        raise BadInput(
            f"{path.name} could not be loaded by Keras/TensorFlow ({_first_line(exc)}): "
            "save it again with model.save('model.keras')"
        ) from None


def load_sklearn(path: Path, fmt: SourceFormat, *, trusted_types: list[str] | None = None) -> Any:
    """Load a scikit-learn estimator from a pickle/joblib file or a skops file.

    A skops file is refused if it holds types skops does not trust by default, unless they
    are listed in ``trusted_types`` (skops' own safety rule).
    """
    if fmt is SourceFormat.SKOPS:
        import skops.io as sio

        try:
            untrusted = sio.get_untrusted_types(file=str(path))
            unexpected = sorted(set(untrusted) - set(trusted_types or []))
            if unexpected:
                raise BadInput(
                    f"{path.name} holds types skops does not trust: {', '.join(unexpected)}; "
                    "check them and pass --trust-type for each"
                )
            model = sio.load(str(path), trusted=untrusted or None)
        except BadInput:
            raise
        except Exception as exc:
            raise BadInput(f"{path.name} is not a valid skops file ({_first_line(exc)})") from None
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if path.suffix == ".joblib":
                    import joblib

                    model = joblib.load(path)
                else:
                    with path.open("rb") as handle:
                        model = pickle.load(handle)
        except Exception as exc:  # truncated: EOFError/UnpicklingError; missing class: ...
            raise BadInput(
                f"{path.name} could not be unpickled ({_first_line(exc)}): the file is corrupt, "
                "truncated or needs code that is not installed"
            ) from None
    if not hasattr(model, "predict") or not hasattr(model, "fit"):
        raise BadInput(
            f"{path.name} holds a {type(model).__name__}, not a scikit-learn model "
            "(no fit/predict): pickle the fitted estimator or pipeline"
        )
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
