"""Small ONNX models built with onnx.helper, published into a throw-away repository.

The tests and the benchmark need models that exist without any framework or download:
an MLP (``64 -> hidden... -> 10``, seeded weights) in the demo digits' flat layout, and
a two-input adder to exercise multi-input signatures. The benchmark's batching model is
the wide MLP 64-4096-4096-10, whose batch-1 run costs ~1.5 ms here (STACK/issue figures).

Only the benchmark and the tests import this (``onnx`` is not a serving dependency).
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from utils.deployment_helpers import (
    Batching,
    Manifest,
    PublishedVersion,
    TensorSpec,
    VersionInfo,
    publish_version,
)

LABELS = [str(d) for d in range(10)]


def mlp_onnx(path: Path, widths: Sequence[int], *, seed: int = 0) -> Path:
    """Write an MLP (Gemm + Relu, no activation after the last layer) to ``path``."""
    rng = np.random.default_rng(seed)
    nodes = []
    inits = []
    current = "input"
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        w = (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32)
        b = (rng.standard_normal(n_out) * 0.1).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        last = i == len(widths) - 2
        out = "logits" if last else f"h{i}"
        nodes.append(helper.make_node("Gemm", [current, f"w{i}", f"b{i}"], [out]))
        if not last:
            nodes.append(helper.make_node("Relu", [out], [f"r{i}"]))
            out = f"r{i}"
        current = out
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", widths[0]])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", widths[-1]])
    graph = helper.make_graph(nodes, "mlp", [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def adder_onnx(path: Path, width: int = 4) -> Path:
    """Write ``sum = a + b`` for two FP32 [N, width] inputs."""
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", width])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", width])
    s = helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["N", width])
    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["sum"])], "adder", [a, b], [s])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def publish_mlp(
    repository: Path,
    name: str,
    widths: Sequence[int] = (64, 32, 10),
    *,
    seed: int = 0,
    max_batch_size: int = 64,
    max_queue_delay_us: int = 0,
) -> PublishedVersion:
    """Publish an MLP classifier (``input`` FP32 [-1, widths[0]] -> ``logits``) as a version."""
    template = Manifest(
        name=name,
        inputs=[TensorSpec(name="input", datatype="FP32", shape=[-1, widths[0]])],
        outputs=[TensorSpec(name="logits", datatype="FP32", shape=[-1, widths[-1]])],
        scores_output="logits",
        scores_kind="logits",
        labels=LABELS[: widths[-1]] if widths[-1] <= 10 else [],
        batching=Batching(max_batch_size=max_batch_size, max_queue_delay_us=max_queue_delay_us),
    )
    with tempfile.TemporaryDirectory() as tmp:
        onnx_file = mlp_onnx(Path(tmp) / "model.onnx", widths, seed=seed)
        return publish_version(
            onnx_file, repository, template, VersionInfo(sha256="", size_bytes=0, variant="fp32")
        )


def publish_adder(repository: Path, name: str = "adder", width: int = 4) -> PublishedVersion:
    """Publish the two-input adder (a regression-style model with no labels)."""
    spec = [-1, width]
    template = Manifest(
        name=name,
        task="regression",
        inputs=[
            TensorSpec(name="a", datatype="FP32", shape=spec),
            TensorSpec(name="b", datatype="FP32", shape=spec),
        ],
        outputs=[TensorSpec(name="sum", datatype="FP32", shape=spec)],
        scores_output="sum",
        scores_kind="values",
        batching=Batching(max_batch_size=16, max_queue_delay_us=0),
    )
    with tempfile.TemporaryDirectory() as tmp:
        onnx_file = adder_onnx(Path(tmp) / "model.onnx", width)
        return publish_version(
            onnx_file, repository, template, VersionInfo(sha256="", size_bytes=0, variant="fp32")
        )
