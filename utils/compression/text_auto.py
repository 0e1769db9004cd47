"""The automatic mode for sentence-embedding models: recipes, evaluator, latency feed.

An embedding has no accuracy to lose a point of; what a user needs is that every
sentence keeps (nearly) the vector it had, so the budget is the WORST cosine to fp32 over
the evaluation sentences (default 0.99), per sentence at batch 1 as a request is served.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from utils.compression.auto import Recipe
from utils.compression.calibration import Feed
from utils.compression.mixed_precision import KEEP_SENSITIVE
from utils.compression.report import CompressionReport
from utils.compression.text_embedding import EMBEDDING_OUTPUT, embed, worst_cosine_to
from utils.runtime import create_session
from utils.text import tokenize

OUTLIER_RECIPE = "int8-4bit-embeddings-outliers"
"""The recipe `make minilm` publishes (recorded in its manifest so `auto` does not redo it)."""


def embedding_recipes(
    calibration: list[Feed], *, keep_sensitive: int = KEEP_SENSITIVE
) -> list[Recipe]:
    """Dynamic int8 as onnxruntime does it, the 4-bit-embedding variant, the same with
    outlier channels of the most sensitive MatMuls in float, and fp16."""
    from utils.compression.fp16 import convert_fp16
    from utils.compression.mixed_precision import quantize_text_encoder
    from utils.compression.quantize import quantize_dynamic_int8
    from utils.compression.sensitivity import rank_matmuls_by_trial

    def outliers(src: Path, out: Path, _: list[Feed] | None) -> CompressionReport:
        ranking = rank_matmuls_by_trial(src, calibration, EMBEDDING_OUTPUT)
        nodes = list(ranking)[:keep_sensitive]
        return quantize_text_encoder(src, out, sensitive_nodes=nodes, calibration=calibration)

    return [
        Recipe("int8-dynamic-per-channel", lambda src, out, _: quantize_dynamic_int8(src, out)),
        Recipe("int8-4bit-embeddings", lambda src, out, _: quantize_text_encoder(src, out)),
        Recipe(OUTLIER_RECIPE, outliers),
        Recipe("fp16", lambda src, out, _: convert_fp16(src, out)),
    ]


def cosine_evaluator(
    reference_model: Path, tokenizer_file: Path, sentences: Sequence[str]
) -> Callable[[Path], float]:
    """``evaluate(path) -> worst cosine`` of a candidate's embeddings to the reference's."""
    reference = embed(create_session(reference_model), sentences, tokenizer_file)

    def evaluate(candidate: Path) -> float:
        return worst_cosine_to(
            reference, embed(create_session(candidate), sentences, tokenizer_file)
        )

    return evaluate


def sequence_feed(tokenizer_file: Path, *, length: int = 128) -> dict[str, Any]:
    """One sentence of exactly ``length`` real tokens: the latency the targets are set at."""
    feed = tokenize(
        ["a sentence padded to a fixed number of tokens"], tokenizer_file, pad_to=length
    )
    feed["attention_mask"][:] = 1
    return dict(feed)
