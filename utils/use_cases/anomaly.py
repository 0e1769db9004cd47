"""Two anomaly detectors for the newest point of a CO2 window, each one ONNX graph.

Both take ``window`` FP32 [N, W] (W = the forecaster's window + 1: the newest point and
the W-1 weeks before it) and answer ``score`` FP32 [N] and ``is_anomaly`` BOOL [N] about
the newest point; the threshold is a constant in the graph and in the manifest.

- ``forecast_residual``: the forecaster (forecasting.py) predicts the newest point from
  the weeks before it; the score is |actual - predicted| in units of the residual
  standard deviation measured on the clean validation years.
- ``isolation_forest``: four level-free features of the window (the year-on-year change
  of the newest point against the weeks before, the seasonally adjusted last step, the
  spread of the last six such steps, and how still the last four weeks are against the
  same weeks a year before), computed in the graph, then scikit-learn's IsolationForest
  converted by skl2onnx; the score is minus its decision function.

Thresholds are chosen on the validation years with injected anomalies (best F1 averaged
over the kinds), never on the held-out years the figures come from.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers.manifest import (
    Batching,
    Manifest,
    Postprocessing,
    Preprocessing,
    TensorSpec,
)
from utils.use_cases.injection import DetectionScore, Event, Kind, inject, score_flags
from utils.use_cases.series import Series

INPUT: Final[str] = "window"
SCORE: Final[str] = "score"
FLAG: Final[str] = "is_anomaly"
FEATURES: Final[tuple[str, ...]] = ("yoy_jump", "adjusted_step", "step_spread", "stillness")


class Detector(StrEnum):
    """The detectors measured."""

    FORECAST_RESIDUAL = "forecast_residual"
    ISOLATION_FOREST = "isolation_forest"


def last_point_windows(values: Series, first: int, last: int, width: int) -> Series:
    """One window per newest point t in [first, last): ``values[t - width + 1: t + 1]``."""
    return np.stack([values[t - width + 1 : t + 1] for t in range(first, last)]).astype(np.float32)


def residual_module(forecaster: Any, sigma: float, threshold: float) -> Any:
    """torch module: window [N, W] -> (score [N], is_anomaly [N])."""
    import torch
    from torch import nn

    class ResidualDetector(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.forecaster = forecaster
            self.register_buffer("sigma", torch.tensor(sigma, dtype=torch.float32))
            self.register_buffer("threshold", torch.tensor(threshold, dtype=torch.float32))

        def forward(self, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            predicted = self.forecaster(window[:, :-1])[:, 0]
            score = (window[:, -1] - predicted).abs() / self.sigma
            return score, score >= self.threshold

    return ResidualDetector().eval()


def feature_module() -> Any:
    """torch module: window [N, W >= 61] -> the four features [N, 4] (see the module doc)."""
    import torch
    from torch import nn

    class Features(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            yoy = x[:, -9:] - x[:, -61:-52]
            yoy_jump = yoy[:, -1] - yoy[:, :-1].mean(dim=1)
            recent = x[:, -6:] - x[:, -7:-1]
            year_ago = x[:, -58:-52] - x[:, -59:-53]
            adjusted = recent - year_ago
            stillness = recent[:, -4:].abs().mean(dim=1) - year_ago[:, -4:].abs().mean(dim=1)
            return torch.stack([yoy_jump, adjusted[:, -1], adjusted.std(dim=1), stillness], dim=1)

    return Features().eval()


def torch_run(module: Any, windows: Series) -> list[NDArray[Any]]:
    """Run a torch module on windows; returns its outputs as numpy arrays."""
    import torch

    with torch.no_grad():
        out = module(torch.from_numpy(np.ascontiguousarray(windows)))
    outputs = out if isinstance(out, tuple) else (out,)
    return [o.numpy() for o in outputs]


def export_residual(module: Any, width: int, out: Path) -> Path:
    """Export the residual detector (TorchScript-based exporter, opset 17)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(2, width) + 350.0,),
            str(out),
            input_names=[INPUT],
            output_names=[SCORE, FLAG],
            dynamic_axes={INPUT: {0: "batch"}, SCORE: {0: "batch"}, FLAG: {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    return out


def export_isolation_forest(forest: Any, width: int, threshold: float, out: Path) -> Path:
    """One graph: torch-exported features -> skl2onnx IsolationForest -> score, flag.

    The two graphs are joined with ``onnx.compose``; the tail (negate the decision
    function, flatten to [N], compare with the threshold) is three plain ONNX nodes.
    """
    import onnx
    import torch
    from onnx import TensorProto, helper
    from skl2onnx import to_onnx

    opset = {"": 17, "ai.onnx.ml": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forest_graph = to_onnx(
            forest,
            np.zeros((1, len(FEATURES)), dtype=np.float32),
            target_opset=opset,
        )
        raw = out.with_suffix(".features.onnx")
        torch.onnx.export(
            feature_module(),
            (torch.zeros(2, width) + 350.0,),
            str(raw),
            input_names=[INPUT],
            output_names=["features"],
            dynamic_axes={INPUT: {0: "batch"}, "features": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    features = onnx.load(str(raw))
    raw.unlink()
    features = onnx.compose.add_prefix(features, "f_", rename_inputs=False)
    forest_graph = onnx.compose.add_prefix(forest_graph, "if_")
    forest_input = forest_graph.graph.input[0].name
    forest_scores = next(o.name for o in forest_graph.graph.output if o.name.endswith("scores"))
    # merge_models wants one opset set and one IR version on both sides
    features = helper.make_model(
        features.graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opset.items()]
    )
    features.ir_version = forest_graph.ir_version = max(
        features.ir_version, forest_graph.ir_version
    )
    merged = onnx.compose.merge_models(
        features,
        forest_graph,
        io_map=[("f_features", forest_input)],
        outputs=[forest_scores],
    )
    graph = merged.graph
    graph.initializer.extend(
        [
            helper.make_tensor("threshold", TensorProto.FLOAT, [], [threshold]),
            helper.make_tensor("flat", TensorProto.INT64, [1], [-1]),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("Neg", [forest_scores], ["negated"]),
            helper.make_node("Reshape", ["negated", "flat"], [SCORE]),
            helper.make_node("GreaterOrEqual", [SCORE, "threshold"], [FLAG]),
        ]
    )
    del graph.output[:]
    graph.output.extend(
        [
            helper.make_tensor_value_info(SCORE, TensorProto.FLOAT, ["batch"]),
            helper.make_tensor_value_info(FLAG, TensorProto.BOOL, ["batch"]),
        ]
    )
    onnx.checker.check_model(merged)
    onnx.save(merged, str(out))
    return out


def train_isolation_forest(windows: Series, *, seed: int = 0) -> Any:
    """Fit scikit-learn's IsolationForest on the features of clean windows."""
    from sklearn.ensemble import IsolationForest

    features = torch_run(feature_module(), windows)[0]
    return IsolationForest(n_estimators=200, max_samples=256, random_state=seed).fit(features)


def best_threshold(scores: Sequence[tuple[NDArray[np.float32], list[Event], int]]) -> float:
    """The threshold with the best F1 averaged over the scored copies' kinds.

    ``scores`` holds (score per point, events, index of the first point) for each copy.
    Candidates are the score quantiles; ties go to the higher threshold (fewer alarms).
    """
    pooled = np.concatenate([s for s, _, _ in scores])
    candidates = np.unique(np.quantile(pooled, np.linspace(0.5, 0.999, 300)))
    best = (-1.0, float(candidates[-1]))
    for threshold in candidates:
        by_kind: dict[Kind, DetectionScore] = {}
        for score, events, offset in scores:
            got = score_flags(score >= threshold, events, offset)
            kind = events[0].kind
            by_kind[kind] = by_kind[kind] + got if kind in by_kind else got
        mean_f1 = float(np.mean([s.f1 for s in by_kind.values()]))
        if mean_f1 >= best[0]:
            best = (mean_f1, float(threshold))
    return best[1]


def scenario_copies(
    clean: Series, *, first: int, last: int, copies: int, seed: int
) -> list[tuple[Series, list[Event]]]:
    """``copies`` injected copies per kind in [first, last), seeds derived from ``seed``."""
    out = []
    for k, kind in enumerate(Kind):
        for c in range(copies):
            out.append(inject(clean, kind, first=first, last=last, seed=seed + 100 * k + c))
    return out


def anomaly_manifest(name: str, width: int, threshold: float, detector: Detector) -> Manifest:
    """Model-level manifest: one FP32 window in, a score and a flag per window out."""
    return Manifest(
        name=name,
        task="anomaly",
        description=(
            f"Weekly CO2: is the newest of {width} weeks anomalous? ({detector.value}; "
            f"score >= {threshold:.3f} flags it)"
        ),
        inputs=[TensorSpec(name=INPUT, datatype="FP32", shape=[-1, width])],
        outputs=[
            TensorSpec(name=SCORE, datatype="FP32", shape=[-1]),
            TensorSpec(name=FLAG, datatype="BOOL", shape=[-1]),
        ],
        scores_output=SCORE,
        scores_kind="values",
        preprocessing=Preprocessing(kind="series", window=width),
        postprocessing=Postprocessing(threshold=threshold),
        batching=Batching(max_batch_size=64, max_queue_delay_us=500),
    )
