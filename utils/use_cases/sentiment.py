"""Sentiment: MiniLM sentence embeddings + a logistic-regression head, as ONE ONNX graph.

The encoder is the MiniLM model `make minilm` publishes (models/minilm: version 1 fp32,
version 2 int8); the head is trained here with scikit-learn on its fp32 embeddings of the
committed sentences (TP_ONNX/use_cases/data/sentiment.jsonl: 1,008 sentences written for
the project, six domains, balanced, with a fixed held-out quarter). The head becomes two
ONNX nodes (Gemm, Softmax) and ``onnx.compose`` joins it to the encoder, so a server needs
the tokenizer and one session: ``input_ids`` and ``attention_mask`` in, ``probabilities``
FP32 [N, 2] (negative, positive) out.

The int8 variant is the same head on the int8 encoder: the head's 770 weights gain
nothing from int8, and the encoder is where the 78 % of the bytes go.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers.manifest import Batching, Manifest, Preprocessing, TensorSpec
from utils.errors import BadInput
from utils.text import DEFAULT_MAX_LENGTH, INPUT_NAMES, tokenize

LABELS: Final[list[str]] = ["negative", "positive"]
OUTPUT: Final[str] = "probabilities"
EMBEDDING: Final[str] = "sentence_embedding"
TOKENIZER_FILE: Final[str] = "tokenizer.json"
C_GRID: Final[tuple[float, ...]] = (0.3, 1.0, 3.0, 10.0, 30.0)
"""Inverse regularisation strengths tried by 5-fold cross-validation on the training split."""


@dataclass(frozen=True)
class Sentences:
    """One split of the labelled sentences."""

    texts: list[str]
    labels: NDArray[np.int64]
    """0 negative, 1 positive."""
    domains: list[str]


def load_sentences(path: Path, split: str) -> Sentences:
    """Read ``{"text", "label", "domain", "split"}`` lines of one split.

    :raise BadInput: the file is missing, a line is malformed, or the split is empty.
    """
    try:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        rows = [r for r in rows if r["split"] == split]
        labels = np.array([LABELS.index(r["label"]) for r in rows], dtype=np.int64)
    except FileNotFoundError:
        raise BadInput(f"sentence file {path} does not exist") from None
    except (json.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
        raise BadInput(
            f"{path}: each line needs text, label (one of {LABELS}), split: {exc}"
        ) from None
    if not rows:
        raise BadInput(f"{path} has no sentence in split {split!r}")
    return Sentences([r["text"] for r in rows], labels, [r["domain"] for r in rows])


def run_text_model(
    session: Any,
    texts: Sequence[str],
    tokenizer: Path,
    *,
    output: str,
    batch_size: int = 1,
) -> NDArray[np.float32]:
    """Run a text graph (``input_ids``, ``attention_mask`` in) over ``texts``.

    Batch 1 by default: dynamic int8 picks its activation scale per call, so a sentence's
    result depends on its batch companions; batch 1 is what one request sees.
    """
    parts = [
        session.run([output], tokenize(list(texts[i : i + batch_size]), tokenizer))[0]
        for i in range(0, len(texts), batch_size)
    ]
    return np.concatenate(parts).astype(np.float32)


def train_head(embeddings: NDArray[np.float32], labels: NDArray[np.int64]) -> Any:
    """Logistic regression on unit-length embeddings, C chosen by 5-fold CV (training only)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    search = GridSearchCV(
        LogisticRegression(max_iter=5000),
        {"C": list(C_GRID)},
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        scoring="accuracy",
    )
    search.fit(embeddings, labels)
    return search.best_estimator_


def compose_with_head(encoder: Path, head: Any, out: Path) -> Path:
    """Append ``probabilities = softmax([0, w.e + b])`` to the encoder graph; save to ``out``.

    Softmax over [0, z] is exactly [1 - sigmoid(z), sigmoid(z)], scikit-learn's
    ``predict_proba`` for a binary logistic regression.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(encoder))
    coef = np.asarray(head.coef_, dtype=np.float32).reshape(-1)
    weight = np.stack([np.zeros_like(coef), coef])  # [2, D]
    bias = np.array([0.0, float(head.intercept_[0])], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", [EMBEDDING, "head_w", "head_b"], ["head_logits"], transB=1),
            helper.make_node("Softmax", ["head_logits"], [OUTPUT], axis=1),
        ],
        "sentiment_head",
        [helper.make_tensor_value_info(EMBEDDING, TensorProto.FLOAT, ["batch", len(coef)])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", len(LABELS)])],
        [
            onnx.numpy_helper.from_array(weight, "head_w"),
            onnx.numpy_helper.from_array(bias, "head_b"),
        ],
    )
    head_model = helper.make_model(graph, opset_imports=list(model.opset_import))
    head_model.ir_version = model.ir_version
    merged = onnx.compose.merge_models(
        model, head_model, io_map=[(EMBEDDING, EMBEDDING)], outputs=[OUTPUT]
    )
    onnx.save(merged, str(out))
    return out


@dataclass(frozen=True)
class Evaluation:
    """Accuracy and confusion matrix (rows true, columns predicted, in LABELS order)."""

    accuracy: float
    confusion: list[list[int]]
    accuracy_by_domain: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "confusion_matrix": {"rows_true_columns_predicted": LABELS, "counts": self.confusion},
            "accuracy_by_domain": self.accuracy_by_domain,
        }


def evaluate(probabilities: NDArray[np.float32], data: Sentences) -> Evaluation:
    """Accuracy, confusion matrix and per-domain accuracy of predicted probabilities."""
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((len(LABELS), len(LABELS)), dtype=int)
    np.add.at(confusion, (data.labels, predicted), 1)
    domains = np.asarray(data.domains)
    correct = predicted == data.labels
    return Evaluation(
        accuracy=float(correct.mean()),
        confusion=confusion.tolist(),
        accuracy_by_domain={d: float(correct[domains == d].mean()) for d in sorted(set(domains))},
    )


def sentiment_manifest(name: str) -> Manifest:
    """Model-level manifest: token ids in, two class probabilities out, text preprocessing."""
    return Manifest(
        name=name,
        task="classification",
        description="Sentiment (negative/positive): all-MiniLM-L6-v2 + logistic-regression head",
        inputs=[TensorSpec(name=n, datatype="INT64", shape=[-1, -1]) for n in INPUT_NAMES],
        outputs=[TensorSpec(name=OUTPUT, datatype="FP32", shape=[-1, len(LABELS)])],
        scores_output=OUTPUT,
        scores_kind="probabilities",
        labels=list(LABELS),
        preprocessing=Preprocessing(
            kind="text", tokenizer=TOKENIZER_FILE, max_length=DEFAULT_MAX_LENGTH
        ),
        batching=Batching(max_batch_size=32, max_queue_delay_us=2000),
    )
