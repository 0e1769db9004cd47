"""sentiment served by both apps: v2 ``text`` BYTES in (JSON and binary), ``label`` BYTES
and ``probabilities`` out; plain sentences through /predict and /api/predict; refusals.
Its page is tested in tests/tp_flask/test_flask_sentiment_page.py.

Slow: sentiment is git-ignored (MiniLM inside, 110 MB), so a fresh clone builds it first
(``sentiment_repository``: ~1 min, ~3 min with MiniLM)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
import tritonclient.http as triton

from tests.use_cases.conftest import Apps

pytestmark = pytest.mark.slow

CLEAR = ["I absolutely loved this hotel, the staff were wonderful.", "Awful film, a waste of time."]
LABELS = ["positive", "negative"]


def v2_text(sentences: list[str]) -> dict[str, Any]:
    return {
        "inputs": [
            {"name": "text", "datatype": "BYTES", "shape": [len(sentences)], "data": sentences}
        ]
    }


@pytest.fixture
def client(sentiment_apps: Apps) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(
        sentiment_apps.api.host_port, connection_timeout=5, network_timeout=30
    )
    yield client
    client.close()


def test_v2_json_text_gets_a_label_and_two_probabilities_per_sentence(
    sentiment_apps: Apps,
) -> None:
    response = httpx.post(
        f"{sentiment_apps.api.url}/v2/models/sentiment/infer", json=v2_text(CLEAR), timeout=60
    )
    outputs = {o["name"]: o for o in response.json()["outputs"]}
    assert (outputs["label"]["datatype"], outputs["label"]["data"]) == ("BYTES", LABELS)
    probabilities = outputs["probabilities"]
    assert (probabilities["datatype"], probabilities["shape"]) == ("FP32", [2, 2])
    assert np.allclose(np.reshape(probabilities["data"], (2, 2)).sum(axis=1), 1.0, atol=1e-5)


def test_binary_v2_text_through_tritonclient_gets_bytes_labels(
    client: triton.InferenceServerClient,
) -> None:
    tensor = triton.InferInput("text", [2], "BYTES")
    tensor.set_data_from_numpy(np.array([s.encode() for s in CLEAR], dtype=object))
    result = client.infer("sentiment", [tensor])
    assert [b.decode() for b in result.as_numpy("label")] == LABELS
    assert result.as_numpy("probabilities").shape == (2, 2)


def test_v2_metadata_lists_the_text_input_and_the_label_output(
    client: triton.InferenceServerClient,
) -> None:
    meta = client.get_model_metadata("sentiment")
    assert meta["inputs"][0] == {"name": "text", "datatype": "BYTES", "shape": [-1]}
    outputs = [(o["name"], o["datatype"], o["shape"]) for o in meta["outputs"]]
    assert outputs == [("probabilities", "FP32", [-1, 2]), ("label", "BYTES", [-1])]


def test_sentences_through_predict_get_the_same_labels_from_both_apps(
    sentiment_apps: Apps,
) -> None:
    (a_status, a_body), (f_status, f_body) = sentiment_apps.predict_both(
        orjson.dumps({"model": "sentiment", "inputs": CLEAR})
    )
    assert a_status == f_status == 200
    assert [p["label"] for p in a_body["predictions"]] == LABELS
    assert a_body["predictions"] == f_body["predictions"] and a_body["labels"] == [
        "negative",
        "positive",
    ]


BAD_TEXT: list[tuple[str, Any, str]] = [
    ("empty text", [""], "sentence 0 is empty"),
    ("blank text", ["fine", "   "], "sentence 1 is empty"),
    ("no sentence", [], "no sentence given"),
    ("a number", [42], "a sentence or a list of sentences"),
    ("an object", {"text": "hi"}, "a sentence or a list of sentences"),
    ("too many tokens", ["word " * 400], "over the 256-token limit"),
]


@pytest.mark.parametrize(("case", "inputs", "says"), BAD_TEXT, ids=[c[0] for c in BAD_TEXT])
def test_bad_text_is_refused_by_both_apps_with_the_same_400(
    sentiment_apps: Apps, case: str, inputs: Any, says: str
) -> None:
    body = orjson.dumps({"model": "sentiment", "inputs": inputs})
    (a_status, a_body), (f_status, f_body) = sentiment_apps.predict_both(body)
    assert (a_status, a_body) == (f_status, f_body)
    assert a_status == 400 and says in a_body["error"]


@pytest.mark.parametrize(
    ("tensor", "says"),
    [
        ({"name": "text", "datatype": "BYTES", "shape": [1], "data": [""]}, "sentence 0 is empty"),
        ({"name": "text", "datatype": "BYTES", "shape": [1], "data": [7]}, "list of strings"),
        ({"name": "text", "datatype": "FP32", "shape": [1], "data": [7.0]}, "BYTES tensor"),
        ({"name": "text", "datatype": "BYTES", "shape": [1], "data": ["ok " * 400]}, "256-token"),
    ],
    ids=["empty", "number in BYTES", "FP32 text", "too many tokens"],
)
def test_bad_v2_text_is_a_400_and_the_server_still_serves(
    sentiment_apps: Apps, tensor: dict[str, Any], says: str
) -> None:
    url = f"{sentiment_apps.api.url}/v2/models/sentiment/infer"
    refused = httpx.post(url, json={"inputs": [tensor]}, timeout=60)
    assert refused.status_code == 400 and says in refused.json()["error"]
    assert httpx.post(url, json=v2_text(CLEAR[:1]), timeout=60).status_code == 200
