"""Sentences to model inputs for the MiniLM embedding model, with `tokenizers` alone.

Serving text must not import torch or transformers (a 512 MB budget, a serverless bundle):
the Rust ``tokenizers`` library reads the model's own ``tokenizer.json`` and produces the
same ids as transformers' ``AutoTokenizer`` (verified in STACK.md), at about 29 MB RSS.

Mean pooling and L2 normalisation live INSIDE the exported ONNX graph (its output
``sentence_embedding`` is already the unit vector), so every consumer of the model
repository (our two apps, Triton, KServe) gets the final embedding without copying the
post-processing. :func:`mean_pool` and :func:`l2_normalize` are kept here, in numpy, for
graphs that output token embeddings and for the tests that prove the graph's pooling.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from utils.errors import BadInput

DEFAULT_MAX_LENGTH: Final[int] = 256
"""all-MiniLM-L6-v2 was trained with 256 tokens at most (its sentence_bert_config)."""

MAX_SENTENCES: Final[int] = 256
"""Largest number of sentences tokenized in one call: a guard against huge requests."""

MAX_CHARACTERS: Final[int] = 10_000
"""Longest accepted sentence before truncation to tokens; longer text is refused."""

INPUT_NAMES: Final[tuple[str, str]] = ("input_ids", "attention_mask")
"""The exported graph's inputs (token_type_ids are all zero for one sentence, built inside)."""


@lru_cache(maxsize=8)
def _load_tokenizer(path: str, max_length: int):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(path)
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def tokenize(
    sentences: Sequence[str],
    tokenizer_file: Path,
    *,
    max_length: int = DEFAULT_MAX_LENGTH,
    pad_to: int | None = None,
) -> dict[str, NDArray[np.int64]]:
    """Return the model's feed (``input_ids``, ``attention_mask``, int64 [N, T]).

    Sentences are padded to the longest one in the batch (or to ``pad_to`` tokens, used
    by benchmarks that need a fixed sequence length) and truncated to ``max_length``.

    :raise BadInput: no sentence, too many, an empty or non-string one, or one longer
        than :data:`MAX_CHARACTERS`.
    """
    if isinstance(sentences, str):
        sentences = [sentences]
    if not sentences:
        raise BadInput("no sentence given: send at least one non-empty string")
    if len(sentences) > MAX_SENTENCES:
        raise BadInput(f"{len(sentences)} sentences in one call; the limit is {MAX_SENTENCES}")
    for i, sentence in enumerate(sentences):
        if not isinstance(sentence, str) or not sentence.strip():
            raise BadInput(f"sentence {i} is empty or not a string")
        if len(sentence) > MAX_CHARACTERS:
            raise BadInput(
                f"sentence {i} has {len(sentence)} characters; the limit is {MAX_CHARACTERS}"
            )
    if not tokenizer_file.is_file():
        raise BadInput(f"tokenizer file {tokenizer_file} is missing: run `make minilm`")
    tokenizer = _load_tokenizer(str(tokenizer_file), max_length)
    encodings = tokenizer.encode_batch(list(sentences))
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    if pad_to is not None and ids.shape[1] < pad_to:
        extra = pad_to - ids.shape[1]
        ids = np.pad(ids, ((0, 0), (0, extra)))
        mask = np.pad(mask, ((0, 0), (0, extra)))
    return {"input_ids": ids, "attention_mask": mask}


def mean_pool(
    token_embeddings: NDArray[np.float32], attention_mask: NDArray[np.int64]
) -> NDArray[np.float32]:
    """Average the token vectors of each sentence, ignoring padding (sentence-transformers)."""
    mask = attention_mask[..., None].astype(np.float32)
    summed = (token_embeddings * mask).sum(axis=1)
    counts = np.clip(mask.sum(axis=1), 1e-9, None)
    pooled: NDArray[np.float32] = (summed / counts).astype(np.float32)
    return pooled


def l2_normalize(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Scale each row to unit length, so a dot product is the cosine similarity."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: NDArray[np.float32] = (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)
    return unit
