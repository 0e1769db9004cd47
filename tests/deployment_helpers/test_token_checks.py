"""A text model's token inputs are checked before onnxruntime sees them (faults 2 and 4):
each client mistake is a 400 that says what to send."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from utils.deployment_helpers import ModelRepository, ServedModel
from utils.deployment_helpers.tasks import token_limits
from utils.errors import BadInput
from utils.testing.toy_models import publish_text_embedder


@pytest.fixture
def words(tmp_path: Path) -> ServedModel:
    publish_text_embedder(tmp_path / "models", max_length=16)
    repository = ModelRepository(tmp_path / "models", token_limits=token_limits)
    repository.load_all()
    return repository.get("words")


def _ids(tokens: list[list[int]]) -> dict[str, np.ndarray]:
    ids = np.array(tokens, np.int64)
    return {"input_ids": ids, "attention_mask": np.ones_like(ids)}


def test_good_token_ids_are_accepted(words: ServedModel) -> None:
    assert words.predict(_ids([[2, 3, 4]]))["embedding"].shape == (1, 8)


def test_an_id_outside_the_vocabulary_is_refused_naming_the_valid_range(
    words: ServedModel,
) -> None:
    with pytest.raises(BadInput, match=r"outside the vocabulary .* 0 to 7"):
        words.predict(_ids([[2, 8]]))


def test_a_negative_id_is_refused(words: ServedModel) -> None:
    with pytest.raises(BadInput, match="outside the vocabulary"):
        words.predict(_ids([[-1, 2]]))


def test_more_tokens_than_the_model_takes_are_refused(words: ServedModel) -> None:
    with pytest.raises(BadInput, match=r"holds 17 tokens per sequence; .* at most 16"):
        words.predict(_ids([[2] * 17]))


def test_zero_tokens_are_refused(words: ServedModel) -> None:
    with pytest.raises(BadInput, match="0 tokens per sequence"):
        words.predict(_ids([[]]))


def test_a_mask_of_another_length_than_the_ids_is_refused(words: ServedModel) -> None:
    feed = {"input_ids": np.array([[2, 3, 4]]), "attention_mask": np.array([[1, 1]])}
    with pytest.raises(BadInput, match="one mask value per token"):
        words.predict(feed)


def test_a_mask_holding_other_values_than_0_and_1_is_refused(words: ServedModel) -> None:
    feed = {"input_ids": np.array([[2, 3]]), "attention_mask": np.array([[1, 7]])}
    with pytest.raises(BadInput, match="only 0 and 1"):
        words.predict(feed)
