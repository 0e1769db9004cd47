"""One bad request fails alone, even when the batcher merged it with good ones (fault 2).

The token embedder fails in onnxruntime on an id outside its table (as MiniLM's Gather
does); it is published WITHOUT a tokenizer here, so no vocabulary check stops the bad
request before onnxruntime, and the batch itself must isolate it.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from utils.deployment_helpers import InferenceScheduler, ModelRepository, ServedModel
from utils.errors import InferenceFailed
from utils.testing.toy_models import publish_onnx, token_embedder_onnx


@pytest.fixture
def embedder(tmp_path: Path) -> ServedModel:
    from utils.deployment_helpers import Batching, Manifest, TensorSpec

    manifest = Manifest(
        name="emb",
        task="embedding",
        inputs=[
            TensorSpec(name="input_ids", datatype="INT64", shape=[-1, -1]),
            TensorSpec(name="attention_mask", datatype="INT64", shape=[-1, -1]),
        ],
        outputs=[TensorSpec(name="embedding", datatype="FP32", shape=[-1, 8])],
        batching=Batching(max_batch_size=64, max_queue_delay_us=20_000),
    )
    root = tmp_path / "models"
    publish_onnx(token_embedder_onnx(tmp_path / "e.onnx", vocab=100), root, manifest)
    repository = ModelRepository(root)
    repository.load_all()
    return repository.get("emb")


def _feed(token: int) -> dict[str, np.ndarray]:
    return {
        "input_ids": np.array([[5, token, 7]], np.int64),
        "attention_mask": np.ones((1, 3), np.int64),
    }


async def _nine_requests(model: ServedModel, batches: list[int] | None = None) -> list[object]:
    seen = batches if batches is not None else []
    with ThreadPoolExecutor(2) as pool:
        scheduler = InferenceScheduler(
            pool, max_in_flight=1, on_batch=lambda _, rows: seen.append(rows)
        )
        feeds = [_feed(t) for t in (1, 2, 3, 4, 100_000, 5, 6, 7, 8)]  # the 5th is out of range
        results = await asyncio.gather(
            *(scheduler.infer(model, f) for f in feeds), return_exceptions=True
        )
        await scheduler.shutdown()
    return results


def test_only_the_bad_request_of_a_merged_batch_fails(embedder: ServedModel) -> None:
    batches: list[int] = []
    results = asyncio.run(_nine_requests(embedder, batches))
    failed = [i for i, r in enumerate(results) if isinstance(r, InferenceFailed)]
    assert max(batches) > 1, "the requests were not merged: the test proves nothing"
    assert failed == [4]


def test_the_good_requests_of_a_failed_batch_get_their_own_answers(embedder: ServedModel) -> None:
    results = asyncio.run(_nine_requests(embedder))
    alone = embedder.run(_feed(1))["embedding"]
    first = results[0]
    assert isinstance(first, dict)
    np.testing.assert_allclose(first["embedding"], alone, rtol=1e-6)
