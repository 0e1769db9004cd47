"""The text input kind: sentences in, token inputs out, with the model's own tokenizer;
an empty sentence and one over the token limit are refused (not truncated)."""

from __future__ import annotations

from pathlib import Path

import pytest

from utils.deployment_helpers import ModelRepository, ServedModel
from utils.deployment_helpers.tasks import input_kind_of, token_limits
from utils.errors import BadInput
from utils.testing.toy_models import publish_text_embedder


@pytest.fixture
def words(tmp_path: Path) -> ServedModel:
    publish_text_embedder(tmp_path / "models", max_length=16)
    repository = ModelRepository(tmp_path / "models", token_limits=token_limits)
    repository.load_all()
    return repository.get("words")


def test_sentences_become_the_token_inputs_of_the_model(words: ServedModel) -> None:
    feed = input_kind_of(words.manifest).feed_from_json(words, ["good film", "bad slow food"])
    assert set(feed) == {"input_ids", "attention_mask"}
    assert feed["attention_mask"].sum(axis=1).tolist() == [2, 3]


def test_a_sentence_at_the_token_limit_is_accepted(words: ServedModel) -> None:
    feed = input_kind_of(words.manifest).feed_from_json(words, " ".join(["good"] * 16))
    assert feed["input_ids"].shape == (1, 16)


def test_a_sentence_over_the_token_limit_is_refused_naming_it(words: ServedModel) -> None:
    with pytest.raises(BadInput, match="sentence 1 is over the 16-token limit"):
        input_kind_of(words.manifest).feed_from_json(words, ["good", " ".join(["bad"] * 17)])


def test_an_empty_sentence_is_refused_saying_what_to_send(words: ServedModel) -> None:
    with pytest.raises(BadInput, match="sentence 0 is empty: model 'words' takes a sentence"):
        input_kind_of(words.manifest).feed_from_json(words, ["  ", "good"])


def test_a_number_is_refused_saying_what_to_send(words: ServedModel) -> None:
    with pytest.raises(BadInput, match="takes a sentence or a list of sentences"):
        input_kind_of(words.manifest).feed_from_json(words, [3])
