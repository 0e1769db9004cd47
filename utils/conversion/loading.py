"""Load a source model from disk, turning every loader's failure into one clear error.

Frameworks are imported inside each loader, so only the one a file needs is paid for.
Unpickling runs code stored in the file: :func:`load_sklearn` accepts a pickle only from
the caller's explicit choice of path, and prefers skops, which loads no code.
"""

from __future__ import annotations

import logging
import pickle
import sys
import warnings
from pathlib import Path
from typing import Any

from utils.conversion.detect import SourceFormat
from utils.errors import BadInput

logger = logging.getLogger("utils.conversion")


TRUST_WARNING = (
    "{name} is a pickle: loading it runs code stored in the file. Convert only files you "
    "trust (scikit-learn: prefer .skops; PyTorch: a state_dict with --model-class, or .pt2)."
)
"""Said before a whole pickled nn.Module is loaded: torch.load tried the safe
``weights_only`` way first and the file needs the unsafe one. (A ``.pkl`` can only be
loaded the unsafe way; the converter's --help says so once instead of every run.)"""

_CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model")


def warn_untrusted(path: Path) -> None:
    """Log the trust warning (the CLI shows it on stderr) before a pickle is opened."""
    logger.warning(TRUST_WARNING.format(name=path.name))


def import_model_class(spec: str, search: Path) -> Any:
    """``module:Class`` -> the class, importing ``module`` from the current folder or the
    model file's folder (importing a module runs its code: name only your own).

    :raise BadInput: a malformed spec, a module that does not import, a missing class.
    """
    import importlib

    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name.isidentifier():
        raise BadInput(f"--model-class {spec!r}: write module:Class, e.g. my_model:MLP")
    _search_user_code(search)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or anything the module raises at import
        raise BadInput(
            f"--model-class {spec!r}: module {module_name!r} does not import ({_first_line(exc)}); "
            "run from the folder that holds it or put it beside the model file"
        ) from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise BadInput(f"--model-class {spec!r}: {module_name} has no {class_name}")
    return cls


def _search_user_code(model_folder: Path) -> None:
    """Let a model's own modules import: the current folder and the model file's folder."""
    for folder in (str(Path.cwd()), str(model_folder.resolve())):
        if folder not in sys.path:
            sys.path.insert(0, folder)


def _state_dict_of(obj: Any) -> dict[str, Any] | None:
    """A state_dict, or one inside a checkpoint dict (``{"state_dict": ...}``), else None."""
    import torch

    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj
    if isinstance(obj, dict):
        for key in _CHECKPOINT_KEYS:
            inner = _state_dict_of(obj.get(key))
            if inner is not None:
                return inner
    return None


def _build_from_state_dict(
    path: Path, weights: dict[str, Any], model_class: str | None, model_args: Any
) -> Any:
    if model_class is None:
        raise BadInput(
            f"{path.name} holds a state_dict (weights only, no model): pass the class that "
            "builds the model, --model-class module:Class (and --model-args JSON if its "
            "constructor takes arguments)"
        )
    cls = import_model_class(model_class, path.parent)
    args, kwargs = (
        (model_args, {}) if isinstance(model_args, list) else ((), dict(model_args or {}))
    )
    try:
        module = cls(*args, **kwargs)
        module.load_state_dict(weights)
    except Exception as exc:  # TypeError (arguments), RuntimeError (missing/unexpected keys)
        raise BadInput(
            f"{model_class}{tuple(args) or ''} cannot take the weights of {path.name} "
            f"({_first_line(exc)}): check --model-args"
        ) from None
    return module.eval()


def load_torch(
    path: Path, fmt: SourceFormat, *, model_class: str | None = None, model_args: Any = None
) -> Any:
    """Load a TorchScript module (``.pt``), a torch.export program (``.pt2``), or a
    ``torch.save`` file: a whole ``nn.Module`` (its class must be importable) or a
    ``state_dict`` (built with ``model_class``, ``module:Class``)."""
    import torch

    if fmt is SourceFormat.TORCH_SAVE:
        return _load_torch_save(path, model_class, model_args)
    try:
        if fmt is SourceFormat.TORCH_EXPORT:
            return torch.export.load(str(path))
        return torch.jit.load(str(path), map_location="cpu").eval()  # type: ignore[no-untyped-call]
    except Exception as exc:  # torch raises RuntimeError, ValueError, zipfile errors ...
        hint = (
            "save it with torch.export.save(torch.export.export(model, (x,)), path)"
            if fmt is SourceFormat.TORCH_EXPORT
            else "save it with torch.jit.script(model).save(path)"
        )
        raise BadInput(
            f"{path.name} could not be loaded by torch ({_first_line(exc)}): {hint}"
        ) from None


def _load_torch_save(path: Path, model_class: str | None, model_args: Any) -> Any:
    import torch

    try:  # weights_only first: a state_dict loads without running any code
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        obj = None  # a whole pickled nn.Module: only the full unpickler reads it
    except Exception as exc:
        raise BadInput(
            f"{path.name} could not be read by torch.load ({_first_line(exc)})"
        ) from None
    if obj is not None:
        weights = _state_dict_of(obj)
        if weights is None:
            raise BadInput(
                f"{path.name} holds a {type(obj).__name__}, neither a model nor a state_dict"
            )
        return _build_from_state_dict(path, weights, model_class, model_args)
    if model_class is not None:
        import_model_class(model_class, path.parent)  # makes the pickled class importable
    _search_user_code(path.parent)
    warn_untrusted(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.load(str(path), map_location="cpu", weights_only=False)
    except (AttributeError, ModuleNotFoundError) as exc:
        raise BadInput(
            f"{path.name} holds a pickled model whose class cannot be imported "
            f"({_first_line(exc)}). A class defined in the training script's __main__ is "
            "not importable: move it to a module (my_model.py) and pass --model-class "
            "my_model:Class, or save model.state_dict() instead"
        ) from None
    except Exception as exc:
        raise BadInput(f"{path.name} could not be unpickled ({_first_line(exc)})") from None
    if not isinstance(module, torch.nn.Module):
        raise BadInput(f"{path.name} holds a {type(module).__name__}, not a torch nn.Module")
    return module.eval()


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
