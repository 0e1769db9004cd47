"""The optional response cache: same inputs hit, different inputs miss, LRU eviction."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from utils.deployment_helpers import ModelRepository, ResponseCache
from utils.deployment_helpers.cache import feed_key


def test_identical_inputs_give_the_same_key_and_different_inputs_do_not(
    repository: ModelRepository,
) -> None:
    model = repository.get("mlp")
    a = {"input": np.zeros((1, 64), np.float32)}
    b = {"input": np.zeros((1, 64), np.float32)}
    c = {"input": np.ones((1, 64), np.float32)}
    assert feed_key(model, a) == feed_key(model, b) != feed_key(model, c)


def test_another_version_of_the_model_never_shares_a_key(repository: ModelRepository) -> None:
    feed = {"input": np.zeros((1, 64), np.float32)}
    assert feed_key(repository.get("mlp", 1), feed) != feed_key(repository.get("mlp", 2), feed)


def test_the_least_recently_used_entry_is_evicted_first() -> None:
    cache = ResponseCache(2)
    out = {"y": np.zeros(1)}
    cache.put(b"a", out)
    cache.put(b"b", out)
    cache.get(b"a")
    cache.put(b"c", out)
    assert cache.get(b"b") is None
    assert cache.get(b"a") is out


def test_a_zero_sized_cache_stores_nothing() -> None:
    cache = ResponseCache(0)
    cache.put(b"a", {"y": np.zeros(1)})
    assert len(cache) == 0


def test_tritons_response_cache_block_in_config_pbtxt_is_read(tmp_path: Path) -> None:
    from utils.deployment_helpers.triton_config import read_batching
    from utils.testing.toy_models import publish_mlp

    publish_mlp(tmp_path, "mlp", seed=1, max_batch_size=8)
    config = tmp_path / "mlp" / "config.pbtxt"
    assert read_batching(tmp_path / "mlp").response_cache is False
    config.write_text(config.read_text() + "response_cache { enable: true }\n")
    assert read_batching(tmp_path / "mlp").response_cache is True
    config.write_text(config.read_text().replace("enable: true", "enable: false"))
    assert read_batching(tmp_path / "mlp").response_cache is False
