"""The sentiment sentences written for the project: enough, balanced, varied, split once."""

from __future__ import annotations

import json
from collections import Counter

from utils.use_cases.sentiment_build import DATA

ROWS = [json.loads(line) for line in DATA.read_text().splitlines()]


def test_there_are_at_least_1000_sentences_none_repeated() -> None:
    texts = [r["text"].lower() for r in ROWS]
    assert len(ROWS) >= 1000 and len(set(texts)) == len(texts)


def test_each_domain_and_split_holds_as_many_positive_as_negative_sentences() -> None:
    counts = Counter((r["domain"], r["split"], r["label"]) for r in ROWS)
    domains = {r["domain"] for r in ROWS}
    assert domains == {"products", "films", "restaurants", "hotels", "apps", "services"}
    for domain in domains:
        for split in ("train", "test"):
            assert counts[(domain, split, "positive")] == counts[(domain, split, "negative")]


def test_a_quarter_is_held_out() -> None:
    held_out = sum(r["split"] == "test" for r in ROWS) / len(ROWS)
    assert 0.2 <= held_out <= 0.3


def test_negations_short_and_long_sentences_appear_under_both_labels() -> None:
    for label in ("positive", "negative"):
        texts = [r["text"] for r in ROWS if r["label"] == label]
        assert sum(" not " in f" {t.lower()} " for t in texts) >= 20
        assert min(len(t.split()) for t in texts) <= 2 and max(len(t.split()) for t in texts) >= 18
