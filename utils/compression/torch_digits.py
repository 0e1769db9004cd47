"""The digits CNN in PyTorch, for the compression methods that need training.

Pruning and distillation change weights and re-train, which ONNX cannot do: they work on
the torch model, then export through the project's converter (utils.conversion, with its
parity check) and are measured like every other variant. The architecture mirrors the
demo CNN of TP_ONNX/build_demo_models.py (conv 16 -> conv 32 -> pool -> dense 64 -> 10),
with the widths as parameters so a pruned or student network is the same class.
torch is imported inside each function: importing this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from utils.digits import SEED, load_split, to_layout
from utils.errors import BadInput
from utils.paths import DEMO_SOURCES

TEACHER_FILE = DEMO_SOURCES / "digits_cnn.pt2"


@dataclass(frozen=True)
class Widths:
    """Channels of the two convolutions and units of the hidden dense layer."""

    conv1: int = 16
    conv2: int = 32
    hidden: int = 64


def build_cnn(widths: Widths = Widths()) -> Any:
    """``nn.Sequential`` with the demo CNN's layout; indices 0, 2, 6, 8 hold the weights."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, widths.conv1, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(widths.conv1, widths.conv2, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(widths.conv2 * 4 * 4, widths.hidden),
        nn.ReLU(),
        nn.Linear(widths.hidden, 10),
    )


def load_teacher(path: Path = TEACHER_FILE) -> Any:
    """The trained demo CNN (``torch.export`` file) as a plain, trainable ``nn.Sequential``."""
    import torch

    if not path.is_file():
        raise BadInput(f"{path} is missing: run `make models` to train the demo CNN")
    program = torch.export.load(str(path))
    state = {k: v for k, v in program.state_dict.items()}
    model = build_cnn(
        Widths(state["0.weight"].shape[0], state["2.weight"].shape[0], state["6.weight"].shape[0])
    )
    model.load_state_dict(state)
    return model.eval()


@dataclass(frozen=True)
class Data:
    """The demo split as NCHW tensors."""

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any


def load_data() -> Data:
    """The fixed split of utils/digits.py in the torch CNN's layout."""
    import torch

    split = load_split()
    return Data(
        torch.from_numpy(to_layout(split.x_train, "NCHW")),
        torch.from_numpy(split.y_train),
        torch.from_numpy(to_layout(split.x_test, "NCHW")),
        torch.from_numpy(split.y_test),
    )


LossFn = Callable[[Any, Any, Any], Any]
"""(student logits, inputs, labels) -> loss tensor."""


def train(
    model: Any,
    data: Data,
    *,
    epochs: int,
    learning_rate: float = 2e-3,
    batch_size: int = 32,
    loss_fn: LossFn | None = None,
    after_step: Callable[[], None] | None = None,
) -> Any:
    """Seeded Adam training; ``after_step`` runs after each optimizer step (re-apply masks)."""
    import torch
    from torch import nn

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    generator = torch.Generator().manual_seed(SEED)
    loss_fn = loss_fn or (lambda logits, _x, y: nn.functional.cross_entropy(logits, y))
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(data.x_train), generator=generator)
        for idx in order.split(batch_size):  # type: ignore[no-untyped-call]
            optimizer.zero_grad()
            x, y = data.x_train[idx], data.y_train[idx]
            loss_fn(model(x), x, y).backward()
            optimizer.step()
            if after_step is not None:
                after_step()
    return model.eval()


def accuracy(model: Any, data: Data) -> float:
    """Test-split accuracy of a torch model."""
    import torch

    with torch.no_grad():
        return float((model(data.x_test).argmax(1) == data.y_test).float().mean())


def count_parameters(model: Any) -> tuple[int, int]:
    """(all parameters, non-zero parameters)."""
    total = sum(int(p.numel()) for p in model.parameters())
    nonzero = sum(int((p != 0).sum()) for p in model.parameters())
    return total, nonzero


def export_onnx(model: Any, out: Path) -> Path:
    """Export through the project's converter (parity-checked against torch on real digits).

    Falls back to ``torch.onnx.export`` (dynamic batch, weights inline) only if the
    converter is not importable, so this module still works in a partial checkout.
    """
    import torch

    model = model.eval()
    split = load_split()
    samples: NDArray[np.float32] = to_layout(split.x_test, "NCHW")
    try:
        from utils.conversion import ConversionOptions, convert_model
    except ImportError:
        batch = torch.export.Dim("batch", min=1, max=1 << 16)
        torch.onnx.export(
            model,
            (torch.from_numpy(samples[:4]),),
            str(out),
            input_names=["input"],
            output_names=["logits"],
            dynamic_shapes=({0: batch},),
            external_data=False,
            dynamo=True,
        )
        return out
    convert_model(
        model,
        out,
        ConversionOptions(input_shape=(1, 8, 8), samples=samples, sample_labels=split.y_test),
    )
    return out
