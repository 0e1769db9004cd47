"""PyTorch to ONNX: nn.Module, TorchScript or torch.export program, batch left dynamic.

torch 2.13's default exporter is the dynamo one (opset 18+); it writes external data
unless told not to, and wants ``dynamic_shapes`` with ``torch.export.Dim`` rather than
``dynamic_axes`` (STACK.md). A TorchScript module cannot go through dynamo, so it takes
the legacy TorchScript exporter. torch is imported inside the functions.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from utils.errors import ConversionError

DEFAULT_OPSET = 18
"""The dynamo exporter's lowest opset: widest onnxruntime/Triton support that it writes."""

LEGACY_OPSET = 17
"""Used for TorchScript modules (the legacy exporter's best-tested opset)."""

_MAX_BATCH = 1 << 16


def is_torchscript(model: Any) -> bool:
    import torch

    return isinstance(model, torch.jit.ScriptModule)


def as_module(model: Any) -> Any:
    """An ExportedProgram is run and re-exported through its ``.module()``."""
    import torch

    if isinstance(model, torch.export.ExportedProgram):
        return model.module()
    return model


def example_shape(model: Any) -> tuple[int, ...] | None:
    """The per-sample input shape a torch.export program was traced with, if known."""
    import torch

    if not isinstance(model, torch.export.ExportedProgram):
        return None
    user_inputs = set(model.graph_signature.user_inputs)
    for node in model.graph.nodes:
        if node.op == "placeholder" and node.name in user_inputs:
            value = node.meta.get("val")
            if value is not None and hasattr(value, "shape"):
                return tuple(int(d) if str(d).isdecimal() else -1 for d in value.shape)[1:]
    return None


def run_torch(model: Any, x: NDArray[np.float32]) -> list[NDArray[Any]]:
    """Run the source model on ``x``; return its outputs as numpy, in order."""
    import torch

    module = as_module(model)
    if isinstance(module, torch.nn.Module) and not isinstance(model, torch.export.ExportedProgram):
        module.eval()  # an exported program's module() is already frozen in eval mode
    with torch.no_grad():
        out = module(torch.from_numpy(np.ascontiguousarray(x)))
    items = out if isinstance(out, (tuple, list)) else [out]
    return [item.detach().cpu().numpy() for item in items]


def export_torch(
    model: Any,
    sample: NDArray[np.float32],
    out: Path,
    *,
    opset: int | None,
    input_name: str,
    output_names: list[str],
    dynamic_batch: bool,
) -> str:
    """Write ``model`` to ``out`` as one ONNX file; return which exporter was used."""
    import torch

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    logging.getLogger("torch._dynamo").setLevel(logging.ERROR)
    # A dynamic batch is traced on 2-4 rows: torch specialises a batch of 1 to a constant.
    rows = min(len(sample), 4) if dynamic_batch else 1
    x = torch.from_numpy(np.ascontiguousarray(sample[:rows]))
    module = as_module(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if is_torchscript(module):
            axes = {input_name: {0: "batch"}, **{n: {0: "batch"} for n in output_names}}
            try:
                torch.onnx.export(
                    module,
                    (x,),
                    str(out),
                    input_names=[input_name],
                    output_names=output_names,
                    dynamic_axes=axes if dynamic_batch else None,
                    opset_version=opset or LEGACY_OPSET,
                    dynamo=False,
                )
            except Exception as exc:
                raise ConversionError(
                    f"torch's TorchScript exporter failed: {_first_line(exc)}; "
                    "try saving the model with torch.export.save (.pt2) instead"
                ) from None
            return "torch.onnx (TorchScript)"
        dims = ({0: torch.export.Dim("batch", min=1, max=_MAX_BATCH)},) if dynamic_batch else None
        try:
            torch.onnx.export(
                module,
                (x,),
                str(out),
                input_names=[input_name],
                output_names=output_names,
                dynamic_shapes=dims,
                opset_version=opset or DEFAULT_OPSET,
                external_data=False,
                dynamo=True,
                verbose=False,
            )
        except Exception as exc:
            raise ConversionError(
                f"torch's dynamo exporter failed: {_first_line(exc)}; check that the model "
                "runs on a batch of the given --input-shape, or pass --opset 18"
            ) from None
    return "torch.onnx (dynamo)"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
