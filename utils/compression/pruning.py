"""Magnitude pruning of the digits CNN: unstructured (zeros) and structured (fewer channels).

Two different promises, measured differently:

- **Global unstructured** pruning zeroes the smallest-magnitude weights across all layers
  (one threshold for the whole network, so layers with many redundant weights lose
  more), then fine-tunes with the zeros held fixed. The ONNX file keeps its dense shape:
  it is NOT smaller on disk and NOT faster on a CPU; it compresses better (zeros
  deflate), which matters for download size. We report the gzip size for that reason.
- **Structured** channel pruning removes whole convolution filters and dense units with
  the smallest L1 norm, and builds a genuinely narrower network: fewer parameters, a
  smaller ONNX file, less compute. It needs more fine-tuning to recover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from utils.compression.torch_digits import (
    Data,
    Widths,
    accuracy,
    build_cnn,
    count_parameters,
    train,
)
from utils.errors import BadInput

PRUNABLE = (0, 2, 6, 8)
"""Indices of the Conv2d/Linear layers in the digits ``nn.Sequential``."""


@dataclass(frozen=True)
class PruneResult:
    """A pruned torch model and its numbers before export."""

    model: Any
    method: str
    sparsity: float
    parameters: int
    nonzero_parameters: int
    accuracy_before_finetune: float
    accuracy: float


def prune_unstructured(
    model: Any, data: Data, *, sparsity: float, finetune_epochs: int = 10
) -> PruneResult:
    """Zero the ``sparsity`` share of all weights by global L1 magnitude, then fine-tune.

    Biases are left alone (they are 0.3 % of the weights). The masks stay applied during
    fine-tuning (torch.nn.utils.prune re-multiplies them in every forward), then are
    made permanent so the exported graph holds plain tensors with zeros.
    """
    import copy

    import torch.nn.utils.prune as prune

    if not 0.0 < sparsity < 1.0:
        raise BadInput(f"sparsity must lie strictly between 0 and 1, got {sparsity}")
    pruned = copy.deepcopy(model)
    targets = [(pruned[i], "weight") for i in PRUNABLE]
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=sparsity)
    before = accuracy(pruned, data)
    train(pruned, data, epochs=finetune_epochs, learning_rate=1e-3)
    for module, name in targets:
        prune.remove(module, name)  # type: ignore[no-untyped-call]
    total, nonzero = count_parameters(pruned)
    return PruneResult(
        pruned, "unstructured", sparsity, total, nonzero, before, accuracy(pruned, data)
    )


def _keep_indices(weight: Any, keep: int) -> Any:
    """Output channels with the largest L1 norm, in their original order."""
    import torch

    norms = weight.abs().flatten(1).sum(1)
    return torch.sort(torch.topk(norms, keep).indices).values


def prune_channels(
    model: Any, data: Data, *, keep_ratio: float, finetune_epochs: int = 20
) -> PruneResult:
    """Keep ``keep_ratio`` of the filters of each conv and of the hidden units, by L1 norm.

    The kept slices are copied into a narrower network of the same class (input and
    output layers keep their sizes), which is fine-tuned and exported like any other.
    """
    import torch

    if not 0.0 < keep_ratio < 1.0:
        raise BadInput(f"keep_ratio must lie strictly between 0 and 1, got {keep_ratio}")
    conv1, conv2, dense1, dense2 = (model[i] for i in PRUNABLE)
    widths = Widths(
        max(1, round(conv1.out_channels * keep_ratio)),
        max(1, round(conv2.out_channels * keep_ratio)),
        max(1, round(dense1.out_features * keep_ratio)),
    )
    keep1 = _keep_indices(conv1.weight, widths.conv1)
    keep2 = _keep_indices(conv2.weight, widths.conv2)
    keep3 = _keep_indices(dense1.weight, widths.hidden)
    # The flatten after pooling orders features channel-major: channel c owns 16 columns.
    columns = (keep2[:, None] * 16 + torch.arange(16)[None, :]).flatten()
    narrow = build_cnn(widths)
    with torch.no_grad():
        narrow[0].weight.copy_(conv1.weight[keep1])
        narrow[0].bias.copy_(conv1.bias[keep1])
        narrow[2].weight.copy_(conv2.weight[keep2][:, keep1])
        narrow[2].bias.copy_(conv2.bias[keep2])
        narrow[6].weight.copy_(dense1.weight[keep3][:, columns])
        narrow[6].bias.copy_(dense1.bias[keep3])
        narrow[8].weight.copy_(dense2.weight[:, keep3])
        narrow[8].bias.copy_(dense2.bias)
    before = accuracy(narrow.eval(), data)
    train(narrow, data, epochs=finetune_epochs, learning_rate=1e-3)
    total, nonzero = count_parameters(narrow)
    original, _ = count_parameters(model)
    return PruneResult(
        narrow, "structured", 1.0 - total / original, total, nonzero, before, accuracy(narrow, data)
    )
