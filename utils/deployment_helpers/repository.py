"""The model repository as a server sees it: every model and version, loaded and verified.

The folder is Triton's layout plus our manifest (``<root>/<model>/manifest.json``,
``<root>/<model>/<version>/model.onnx``). Each model maps to an immutable
``{version: ServedModel}`` dict; a (re)load builds the new dict off to the side and then
replaces the reference in one assignment, so readers never take a lock and a request
that already holds a model finishes on it (the atomic swap). Loads are serialised by
one lock, so two admins reloading at once cannot interleave.

One bad version fails alone (Triton's behaviour): a file that is tampered with, cannot
open, fails its warm-up run or contradicts its manifest is UNAVAILABLE with its reason,
and every other version and model loads. A reload never makes things worse: a version
already serving whose file is now refused keeps serving its verified copy, and the
reload reports what it refused.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from utils.deployment_helpers.manifest import MANIFEST_FILE, Manifest, read_manifest
from utils.deployment_helpers.served_model import ServedModel, load_served_model
from utils.deployment_helpers.signature import TokenLimits
from utils.errors import BadInput, ModelNotFound, ModelNotReady, ToolkitError

logger = logging.getLogger(__name__)

State = Literal["READY", "UNAVAILABLE"]

MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
"""A model name is a folder name: ASCII letters, digits, ``_ . -``, at most 128 characters."""

VERSION = re.compile(r"[1-9][0-9]{0,8}")
"""A version is written the one canonical way: ``1``, ``2``, ... (no ``01``, no ``١``)."""


def check_model_name(name: str) -> str:
    """Return ``name`` when it can name a model folder.

    :raise ModelNotFound: anything else (404: no model can have that name), without
        touching the disk (a 5,000-character name must not reach the file system).
    """
    if not MODEL_NAME.fullmatch(name):
        shown = name if len(name) <= 40 else name[:40] + "..."
        raise ModelNotFound(
            f"no model is named {shown!r}: model names are ASCII letters, digits, '_', '.' "
            "and '-', at most 128 characters"
        )
    return name


def parse_version(model: str, raw: object) -> int | None:
    """The one version rule of every front end: None (or ``""``) means the latest version;
    an integer >= 1 or its canonical decimal string names one.

    :raise ModelNotFound: a string that is not a canonical version (``01``, ``%31``, ``1.0``,
        5,000 digits...): no version has that name (404, as Triton answers).
    :raise BadInput: a JSON value of another type (a boolean, a list, a float).
    """
    if raw is None or raw == "":
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw < 1:
            raise ModelNotFound(f"model {model!r} has no version {raw}: versions are 1, 2, ...")
        return raw
    if isinstance(raw, str):
        if not VERSION.fullmatch(raw):
            shown = raw if len(raw) <= 20 else raw[:20] + "..."
            raise ModelNotFound(
                f"model {model!r} has no version {shown!r}: versions are written 1, 2, ..."
            )
        return int(raw)
    raise BadInput(f"'version' must be a version number like 1 (or omitted), not {raw!r}")


@dataclass(frozen=True)
class ModelState:
    """One row of the repository index (the shape of v2's repository index)."""

    name: str
    version: int
    state: State
    reason: str = ""


@dataclass(frozen=True)
class LoadReport:
    """What a (re)load of one model did."""

    name: str
    ready: list[int] = field(default_factory=list)
    """Versions in service after the load."""
    refused: dict[int, str] = field(default_factory=dict)
    """Versions whose file was refused, with the reason."""
    kept: list[int] = field(default_factory=list)
    """Refused versions that keep serving the copy verified at their previous load."""

    def refusal_message(self) -> str:
        """One line for the admin who asked for the load ("" when nothing was refused)."""
        if not self.refused:
            return ""
        parts = []
        for version, reason in sorted(self.refused.items()):
            kept = " (its previously verified copy keeps serving)" if version in self.kept else ""
            parts.append(f"version {version} refused: {reason}{kept}")
        return f"model {self.name!r}: " + "; ".join(parts)


SwapListener = Callable[[str, list[ServedModel]], None]
"""Called with a model's name and the versions a swap (or unload) took out of service."""


class ModelRepository:
    """Load, serve and hot-swap every model of a Triton-layout folder.

    ``intra_op_threads``: onnxruntime threads per session (1 is best for many small
    concurrent requests on a small machine; raise it for one big model).
    ``strict_readiness``: Triton's rule (its ``--strict-readiness``, on by default): the
    repository is ready only when every model it serves has a READY version; False: when
    at least one has (a partly broken repository still takes traffic for the rest).
    ``token_limits``: builds the token checks of a text model from its manifest and folder.
    """

    def __init__(
        self,
        root: Path,
        *,
        intra_op_threads: int = 1,
        strict_readiness: bool = True,
        token_limits: Callable[[Manifest, Path], TokenLimits | None] | None = None,
    ) -> None:
        self.root = Path(root)
        self.intra_op_threads = intra_op_threads
        self.strict_readiness = strict_readiness
        self.token_limits = token_limits
        self._expected: set[str] = set()
        """Models that should serve: every one load_all found, or load() was asked for,
        minus those an admin unloaded on purpose (Triton's "live" models)."""
        self._models: dict[str, dict[int, ServedModel]] = {}
        self._states: dict[str, dict[int, ModelState]] = {}
        self._lock = threading.RLock()
        self._listeners: list[SwapListener] = []
        self.loaded_once = False
        """True once :meth:`load_all` has finished (the readiness probe waits for it)."""

    # -- scanning ---------------------------------------------------------------------
    def model_names(self) -> list[str]:
        """Every model folder of the repository (one holding a manifest.json), sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if MODEL_NAME.fullmatch(p.name) and p.is_dir() and (p / MANIFEST_FILE).is_file()
        )

    def add_swap_listener(self, listener: SwapListener) -> None:
        """Be told which versions left service after a reload or unload (e.g. to drain them)."""
        self._listeners.append(listener)

    # -- loading ----------------------------------------------------------------------
    def load_all(self) -> None:
        """Load every model; a model that fails is logged and marked UNAVAILABLE, not fatal."""
        if not self.root.is_dir():
            logger.error("model repository not found", extra={"path": str(self.root)})
        try:
            for name in self.model_names():
                self._expected.add(name)
                try:
                    self.load(name)
                except (ToolkitError, OSError) as exc:  # one bad model must not stop the others
                    logger.error("model not loaded", extra={"model": name, "reason": str(exc)})
                except Exception:  # a bug must not leave the server "loading" for ever
                    logger.exception("model not loaded", extra={"model": name})
                    self._states[name] = {0: ModelState(name, 0, "UNAVAILABLE", "load failed")}
        finally:
            self.loaded_once = True

    def _model_dir(self, name: str) -> Path:
        check_model_name(name)
        model_dir = self.root / name
        if not (model_dir / MANIFEST_FILE).is_file():
            raise ModelNotFound(self._not_found_message(name))
        if not model_dir.resolve().is_relative_to(self.root.resolve()):
            logger.error("model folder links outside the repository", extra={"model": name})
            raise BadInput(
                f"model {name!r}: its folder is a link that leaves the model repository; "
                "copy the model in instead"
            )
        return model_dir

    def load(self, name: str) -> LoadReport:
        """(Re)load every version of ``name`` listed in its manifest, then swap atomically.

        Versions that fail verification are UNAVAILABLE with the reason, unless they were
        serving already: then the verified copy in memory keeps serving. Returns what
        happened. :raise ModelNotFound: no such model folder. :raise ToolkitError: no
        version could be loaded (the previous ones keep serving).
        """
        model_dir = self._model_dir(name)
        with self._lock:
            self._expected.add(name)
            try:
                manifest = read_manifest(model_dir)
            except BadInput as exc:  # its message names the file's path: log it only
                logger.error("manifest refused", extra={"model": name, "reason": str(exc)})
                raise BadInput(
                    f"model {name!r}: its manifest.json is missing or not valid (the server "
                    "log says why): republish the model"
                ) from None
            limits = self.token_limits(manifest, model_dir) if self.token_limits else None
            old = self._models.get(name, {})
            loaded: dict[int, ServedModel] = {}
            states: dict[int, ModelState] = {}
            report = LoadReport(name)
            first_error: ToolkitError | None = None
            for key in sorted(manifest.versions, key=int):
                version = int(key)
                try:
                    model = load_served_model(
                        model_dir,
                        manifest,
                        version,
                        intra_op_threads=self.intra_op_threads,
                        token_limits=limits,
                    )
                except ToolkitError as exc:
                    first_error = first_error or exc
                    report.refused[version] = str(exc)
                    logger.error(
                        "model version refused",
                        extra={"model": name, "version": version, "reason": str(exc)},
                    )
                    if version in old:  # never make a reload worse than what serves now
                        loaded[version] = old[version]
                        states[version] = ModelState(name, version, "READY")
                        report.kept.append(version)
                    else:
                        states[version] = ModelState(name, version, "UNAVAILABLE", str(exc))
                    continue
                loaded[version] = model
                states[version] = ModelState(name, version, "READY")
                logger.info(
                    "model version loaded",
                    extra={
                        "model": name,
                        "version": version,
                        "load_seconds": round(model.load_seconds, 4),
                    },
                )
            report.ready.extend(sorted(loaded))
            if not loaded:
                if name not in self._models:
                    self._states[name] = states
                raise first_error or BadInput(f"model {name!r}: manifest.json lists no version")
            self._models[name] = loaded  # the atomic swap: one reference assignment
            self._states[name] = states
        self._notify(name, [m for v, m in old.items() if loaded.get(v) is not m])
        return report

    def unload(self, name: str) -> None:
        """Take every version of ``name`` out of service (requests in flight finish).

        :raise ModelNotFound: no such model folder or loaded model.
        """
        check_model_name(name)
        with self._lock:
            old = self._models.pop(name, None)
            if old is None and name not in self.model_names():
                raise ModelNotFound(self._not_found_message(name))
            self._expected.discard(name)
            versions = self._states.get(name, {})
            self._states[name] = {
                v: ModelState(name, v, "UNAVAILABLE", "unloaded") for v in versions
            }
        self._notify(name, list((old or {}).values()))

    def _notify(self, name: str, retired: list[ServedModel]) -> None:
        if not retired:
            return
        for listener in self._listeners:
            listener(name, retired)

    # -- serving ----------------------------------------------------------------------
    def get(self, name: str, version: int | None = None) -> ServedModel:
        """The model to answer with: ``version`` or, when None, the highest READY one.

        :raise ModelNotFound: unknown model or version (404).
        :raise ModelNotReady: known but not loaded, unloaded or refused (503).
        """
        versions = self._models.get(name)
        if versions is None:
            check_model_name(name)
            states = self._states.get(name)
            if states is None and name not in self.model_names():
                raise ModelNotFound(self._not_found_message(name))
            reasons = "; ".join(s.reason for s in (states or {}).values() if s.reason)
            raise ModelNotReady(f"model {name!r} is not loaded{': ' + reasons if reasons else ''}")
        if version is None:
            return versions[max(versions)]
        model = versions.get(version)
        if model is not None:
            return model
        state = self._states.get(name, {}).get(version)
        if state is not None:
            raise ModelNotReady(f"model {name!r} version {version} is not ready: {state.reason}")
        raise ModelNotFound(
            f"model {name!r} has no version {version}; versions: "
            f"{', '.join(str(v) for v in sorted(versions))}"
        )

    def loaded(self) -> list[ServedModel]:
        """Every version in service, by name then version."""
        return [m for name in sorted(self._models) for _, m in sorted(self._models[name].items())]

    def versions(self, name: str) -> list[ServedModel]:
        """The versions of ``name`` in service (empty when none)."""
        return [m for _, m in sorted(self._models.get(name, {}).items())]

    def states(self, name: str) -> list[ModelState]:
        """Every known version of ``name`` with its state (for metadata: refused versions
        are listed with their reason)."""
        return [s for _, s in sorted(self._states.get(name, {}).items())]

    def index(self) -> list[ModelState]:
        """Every model and version known, with its state; unloaded models keep their rows."""
        rows: list[ModelState] = []
        for name in sorted(set(self.model_names()) | set(self._states)):
            states = self._states.get(name)
            if not states:
                rows.append(ModelState(name, 0, "UNAVAILABLE", "not loaded"))
                continue
            rows.extend(states[v] for v in sorted(states))
        return rows

    def unready_models(self) -> list[str]:
        """Models that should serve but have no READY version (failed or still missing)."""
        return sorted(name for name in self._expected if not self._models.get(name))

    @property
    def ready(self) -> bool:
        """Loaded once, at least one version in service, and (strict) no model left out.

        Strict is Triton's default: a load balancer should not send a request for a model
        to a replica that cannot serve it; non-strict suits a repository where one broken
        model must not take the others out of rotation.
        """
        if not (self.loaded_once and any(self._models.values())):
            return False
        return not self.strict_readiness or not self.unready_models()

    def not_ready_reason(self) -> str:
        """Why :attr:`ready` is False, in words an operator can act on ("" when ready)."""
        if self.ready:
            return ""
        if not self.loaded_once:
            return "models are loading"
        # The readiness answer is unauthenticated: it names no server path (the log does).
        if not self.root.is_dir():
            return "model repository not found: mount it or set API_MODEL_REPOSITORY"
        if not self.model_names():
            return "the model repository holds no model (no <model>/manifest.json)"
        unready = self.unready_models()
        if self.strict_readiness and any(self._models.values()) and unready:
            return (
                f"model(s) with no READY version: {', '.join(unready)} (strict readiness; "
                "see /v2/repository/index for each reason, or set API_STRICT_READINESS=false)"
            )
        return "no model version could be loaded: see /v2/repository/index for each reason"

    def _not_found_message(self, name: str) -> str:
        known = ", ".join(self.model_names()) or "none"
        return f"model {name!r} does not exist; models: {known}"
