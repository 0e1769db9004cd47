"""Issue 4's MiniLM targets, re-measured on the published files (slow: shares one build).

Every figure is measured here from ``models/minilm/{1,2}/model.onnx`` of the session's build,
on the full committed evaluation set (208 sentences, 52 paraphrase groups), not read back
from the build's own report: a regression in the recipe or in the measuring code fails here.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from utils.compression.evaluate import interleaved_latency
from utils.compression.minilm_build import EVAL_SENTENCES, TARGETS
from utils.compression.text_embedding import (
    EmbeddingFidelity,
    embed,
    embedding_fidelity,
    load_eval_sentences,
)
from utils.runtime import create_session
from utils.text import tokenize

pytestmark = pytest.mark.slow

EVAL_SIZE = 208
LATENCY_WARMUP = 20
LATENCY_REPEATS = 600
"""Calls of each model, alternating. On the AVX2-only machine (28 Nov 2026, quiet) the ratio
of 200-call medians ranged 0.676-0.740 over five runs, and one slow-suite run read 0.751
against the 0.75 goal; 600-call medians ranged 0.683-0.728 over three runs. The goal stays;
the estimate of where the machine stands gets steadier."""
LATENCY_TOLERANCE = 0.0
"""Allowed excess of the int8/fp32 median ratio over the goal: none was needed.

Measured on this 2-core shared machine (25 Nov 2026, VNNI): ratio 0.460-0.466 over four quiet
runs of 200 interleaved calls each, and 0.32-0.44 with two extra busy processes competing for
the cores (load slows both models alike, and fp32 more). The target is asserted as written;
if a much noisier CI runner ever needs slack, raise this with the measurement that justifies
it.
"""


def _folder(minilm_built: Path) -> Path:
    return minilm_built / "models" / "minilm"


@pytest.fixture(scope="module")
def fidelity(minilm_built: Path) -> EmbeddingFidelity:
    """int8 against fp32, batch 1 (what one request sees), on every evaluation sentence."""
    evaluation = load_eval_sentences(EVAL_SENTENCES)
    assert len(evaluation.texts) == EVAL_SIZE, "the committed evaluation set changed size"
    tokenizer = _folder(minilm_built) / "tokenizer.json"
    fp32, int8 = (
        embed(create_session(_folder(minilm_built) / v / "model.onnx"), evaluation.texts, tokenizer)
        for v in ("1", "2")
    )
    return embedding_fidelity(fp32, int8, evaluation.groups)


def test_minilm_int8_file_is_at_most_a_quarter_of_fp32(minilm_built: Path) -> None:
    fp32, int8 = ((_folder(minilm_built) / v / "model.onnx").stat().st_size for v in ("1", "2"))
    assert int8 / fp32 <= TARGETS["size_ratio"] == 0.25


def test_minilm_int8_worst_cosine_to_fp32_is_at_least_099_on_all_sentences(
    fidelity: EmbeddingFidelity,
) -> None:
    assert fidelity.cosine_min >= TARGETS["cosine_min"] == 0.99


def test_minilm_int8_nearest_neighbour_agrees_with_fp32_for_95_percent_of_sentences(
    fidelity: EmbeddingFidelity,
) -> None:
    assert fidelity.nn_agreement >= TARGETS["nn_agreement"] == 0.95


def test_minilm_int8_batch1_seq128_latency_is_at_most_half_of_fp32_on_one_thread(
    minilm_built: Path,
) -> None:
    """Median over 600 calls each, fp32 and int8 alternating call by call, 1 intra-op thread.

    Interleaving makes both models see the same machine load (2 cores shared by several
    jobs), and the ratio of medians ignores the slow tail that load adds to either.
    """
    folder = _folder(minilm_built)
    feed = tokenize(["a sentence padded to 128 tokens"], folder / "tokenizer.json", pad_to=128)
    feed["attention_mask"][:] = 1  # all 128 positions are real tokens: the full cost
    sessions = {v: create_session(folder / v / "model.onnx", threads=1) for v in ("1", "2")}
    stats = interleaved_latency(
        {v: partial(s.run, None, feed) for v, s in sessions.items()},
        warmup=LATENCY_WARMUP,
        repeats=LATENCY_REPEATS,
    )
    ratio = stats["2"].p50_ms / stats["1"].p50_ms
    assert ratio <= TARGETS["latency_ratio"] + LATENCY_TOLERANCE, (
        f"int8 p50 {stats['2'].p50_ms:.2f} ms / fp32 p50 {stats['1'].p50_ms:.2f} ms = {ratio:.3f}"
    )
