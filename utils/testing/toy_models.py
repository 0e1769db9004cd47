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


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def reshape_fails_onnx(path: Path, width: int = 64) -> Path:
    """A valid graph that fails when run: it reshapes each batch of ``width`` values to
    [3, 7] (the fault a version must be refused for at load, not block start-up with)."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", width])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])
    shape = numpy_helper.from_array(np.array([3, 7], np.int64), "shape")
    node = helper.make_node("Reshape", ["input", "shape"], ["logits"])
    return _save(helper.make_graph([node], "reshape_fails", [x], [y], initializer=[shape]), path)


def identity_onnx(path: Path, width: int = 64) -> Path:
    """``logits = input``: [N, width] out where a classifier's manifest says [N, 10]."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", width])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", width])
    node = helper.make_node("Identity", ["input"], ["logits"])
    return _save(helper.make_graph([node], "identity", [x], [y]), path)


def publish_onnx(
    onnx_file: Path, repository: Path, template: Manifest, *, variant: str = "fp32"
) -> PublishedVersion:
    """Publish any ONNX file under ``template`` (the next version of its model)."""
    return publish_version(
        onnx_file, repository, template, VersionInfo(sha256="", size_bytes=0, variant=variant)
    )


def mlp_manifest(
    name: str, width: int = 64, classes: int = 10, *, max_batch_size: int = 64
) -> Manifest:
    """The manifest :func:`publish_mlp` gives: ``input`` [-1, width] -> ``logits``."""
    return Manifest(
        name=name,
        inputs=[TensorSpec(name="input", datatype="FP32", shape=[-1, width])],
        outputs=[TensorSpec(name="logits", datatype="FP32", shape=[-1, classes])],
        scores_output="logits",
        scores_kind="logits",
        labels=LABELS[:classes],
        batching=Batching(max_batch_size=max_batch_size),
    )


def token_embedder_onnx(path: Path, *, vocab: int = 100, dim: int = 8, seed: int = 0) -> Path:
    """``input_ids``/``attention_mask`` INT64 [N, T] -> ``embedding`` FP32 [N, dim]: a Gather
    of a random table, masked mean over the tokens. An id outside [0, vocab) makes
    onnxruntime fail the whole call, as MiniLM's Gather does."""
    rng = np.random.default_rng(seed)
    table = numpy_helper.from_array(rng.standard_normal((vocab, dim)).astype(np.float32), "table")
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["N", "T"])
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["N", "T"])
    out = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", dim])
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    axes2 = numpy_helper.from_array(np.array([2], np.int64), "axes2")
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["vectors"], axis=0),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "axes2"], ["mask3"]),
        helper.make_node("Mul", ["vectors", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axes"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["maskf", "axes"], ["count"], keepdims=1),
        helper.make_node("Div", ["summed", "count"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes, "token_embedder", [ids, mask], [out], initializer=[table, axes, axes2]
    )
    return _save(graph, path)


def toy_tokenizer(path: Path, words: Sequence[str]) -> Path:
    """A word-level tokenizer.json over ``[PAD]``, ``[UNK]`` and ``words`` (``tokenizers``)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[PAD]": 0, "[UNK]": 1, **{w: i + 2 for i, w in enumerate(words)}}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(path))
    return path


def publish_text_embedder(
    repository: Path,
    name: str = "words",
    *,
    vocab_words: Sequence[str] = ("good", "bad", "film", "food", "slow", "fast"),
    max_length: int = 16,
    max_batch_size: int = 8,
    max_queue_delay_us: int = 0,
) -> PublishedVersion:
    """Publish a text embedding model with its own tokenizer.json (kind ``text``)."""
    from utils.deployment_helpers import Preprocessing

    vocab = len(vocab_words) + 2
    template = Manifest(
        name=name,
        task="embedding",
        inputs=[
            TensorSpec(name="input_ids", datatype="INT64", shape=[-1, -1]),
            TensorSpec(name="attention_mask", datatype="INT64", shape=[-1, -1]),
        ],
        outputs=[TensorSpec(name="embedding", datatype="FP32", shape=[-1, 8])],
        scores_output="embedding",
        scores_kind="embedding",
        preprocessing=Preprocessing(kind="text", tokenizer="tokenizer.json", max_length=max_length),
        batching=Batching(max_batch_size=max_batch_size, max_queue_delay_us=max_queue_delay_us),
    )
    (repository / name).mkdir(parents=True, exist_ok=True)
    toy_tokenizer(repository / name / "tokenizer.json", vocab_words)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_file = token_embedder_onnx(Path(tmp) / "model.onnx", vocab=vocab)
        return publish_onnx(onnx_file, repository, template)


IRIS_FEATURES = ("sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)")


def publish_tabular_classifier(
    repository: Path,
    name: str = "iris_toy",
    *,
    feature_names: Sequence[str] = IRIS_FEATURES,
    labels: Sequence[str] = ("setosa", "versicolor", "virginica"),
    seed: int = 0,
) -> PublishedVersion:
    """Publish a linear classifier on named tabular features (kind ``tabular``), the shape
    of a student's scikit-learn model on iris, without scikit-learn."""
    from utils.deployment_helpers import Preprocessing

    width = len(feature_names)
    template = Manifest(
        name=name,
        inputs=[TensorSpec(name="input", datatype="FP32", shape=[-1, width])],
        outputs=[TensorSpec(name="logits", datatype="FP32", shape=[-1, len(labels)])],
        scores_output="logits",
        scores_kind="logits",
        labels=list(labels),
        preprocessing=Preprocessing(kind="tabular", feature_names=list(feature_names)),
        batching=Batching(max_batch_size=64, max_queue_delay_us=0),
    )
    with tempfile.TemporaryDirectory() as tmp:
        onnx_file = mlp_onnx(Path(tmp) / "model.onnx", (width, len(labels)), seed=seed)
        return publish_onnx(onnx_file, repository, template)
