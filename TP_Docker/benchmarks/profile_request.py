"""Where the microseconds of one v2 infer request go, measured in-process.

Builds the real app (every production feature on: API key, rate limit, JSON access log,
metrics, validation) on the committed ``digits_torch`` model and calls it as uvicorn
would, without a socket, many times; then peels the layers off one at a time and times
each remaining stack, so each layer's cost is a difference of two measurements made in
the same run:

    full app  = uvicorn's part (not here) + each layer below
    the app's infer door: request id, client, API key, rate limit, metrics, access log
    answer_infer: the request's headers, the data plane's door, the response
    the data plane's door: body -> orjson -> v2 codec -> validation -> scheduler -> encode
    of which: the v2 codec, validation, onnxruntime's run, the encoding

``python TP_Docker/benchmarks/profile_request.py [--requests N]``: prints a table of
microseconds per request (medians of 5 rounds) and writes ``out/profile_request.json``
(``--update-reference`` writes the committed TP_Docker/benchmarks/profile_request.json that
TP_Docker/README.md quotes). Numbers move with the machine's load; the shares do less.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("API_LOG_JSON", "true")

import numpy as np  # noqa: E402
import orjson  # noqa: E402

from TP_Docker.app import create_app  # noqa: E402
from TP_Docker.fast_path import answer_infer, infer_match  # noqa: E402
from TP_Docker.settings import Settings  # noqa: E402
from utils.deployment_helpers import decode_request, encode_response  # noqa: E402
from utils.deployment_helpers.dataplane import DataPlane  # noqa: E402
from utils.deployment_helpers.observation import RequestContext  # noqa: E402
from utils.paths import DEFAULT_MODEL_REPOSITORY  # noqa: E402

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "profile_request.json"
OUT = ROOT / "out" / "profile_request.json"
API_KEY = "profile-key"
PATH = "/v2/models/digits_torch/infer"

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def request_body() -> bytes:
    x = np.random.default_rng(0).random(64, dtype=np.float32).round(4)
    tensor = {"name": "input", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": x.tolist()}
    return orjson.dumps({"inputs": [tensor]})


def scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-api-key", API_KEY.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def drive(app: App, body: bytes, count: int) -> float:
    """Microseconds per request for ``count`` sequential requests through ``app``."""
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    statuses: list[int] = []

    async def send(event: dict[str, Any]) -> None:
        if event["type"] == "http.response.start":
            statuses.append(event["status"])

    started = time.perf_counter()
    for _ in range(count):
        await app(scope(body), receive, send)
    elapsed = time.perf_counter() - started
    assert set(statuses) == {200}, f"the app answered {set(statuses)}"
    return elapsed / count * 1e6


def layers(app: Any) -> list[tuple[str, App]]:
    """What an infer request goes through, outermost first, as (name, callable) pairs: the
    app (its infer door: request context and access checks, then the answer), then the
    answer alone (headers, the data plane's door, the response)."""
    plane: DataPlane = app.state.plane

    async def answer_only(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = (await receive())["body"]
        scope["client_id"] = "ip:127.0.0.1"
        match = infer_match(scope)
        assert match is not None
        await answer_infer(plane, scope, match, body, send)

    return [
        ("full app: infer door (request id, client, key, rate limit, metrics, access log)", app),
        ("answer_infer (headers, body, response)", answer_only),
    ]


def time_parts(plane: DataPlane, body: bytes, count: int) -> dict[str, float]:
    """Microseconds of the pieces inside the infer door, each alone."""
    model = plane.repository.get("digits_torch")
    parsed = orjson.loads(body)
    decoded = decode_request(parsed)
    feed = model.validate(decoded.inputs)
    outputs = model.run(feed)

    def per_call(fn: Callable[[], object]) -> float:
        started = time.perf_counter()
        for _ in range(count):
            fn()
        return (time.perf_counter() - started) / count * 1e6

    return {
        "orjson.loads": per_call(lambda: orjson.loads(body)),
        "v2 decode": per_call(lambda: decode_request(parsed)),
        "validation": per_call(lambda: model.validate(decoded.inputs)),
        "onnxruntime run": per_call(lambda: model.run(feed)),
        "v2 encode + dumps": per_call(
            lambda: orjson.dumps(encode_response(model.name, 1, outputs, decoded)[0])
        ),
    }


async def door_only(plane: DataPlane, body: bytes, count: int) -> float:
    context = RequestContext("profile", "ip:127.0.0.1", "v2")
    started = time.perf_counter()
    for _ in range(count):
        await plane.infer_v2(
            "digits_torch",
            None,
            body,
            content_type="application/json",
            header_length=None,
            context=context,
        )
    return (time.perf_counter() - started) / count * 1e6


async def measure(count: int, rounds: int) -> dict[str, Any]:
    settings = Settings(
        model_repository=DEFAULT_MODEL_REPOSITORY,
        api_keys=API_KEY,
        rate_limit="100000000/minute",
        log_json=True,
    )
    app = create_app(settings)
    plane: DataPlane = app.state.plane
    plane.load_models()
    plane._loop = asyncio.get_running_loop()
    body = request_body()
    stack = layers(app)
    samples: dict[str, list[float]] = {name: [] for name, _ in stack}
    samples["infer door (data plane)"] = []
    for _ in range(rounds):
        for name, layer in stack:
            samples[name].append(await drive(layer, body, count))
        samples["infer door (data plane)"].append(await door_only(plane, body, count))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    parts = time_parts(plane, body, count * 4)
    await plane.stop()
    return {"requests_per_round": count, "rounds": rounds, "stack_us": medians, "parts_us": parts}


def table(result: dict[str, Any]) -> str:
    stack: dict[str, float] = result["stack_us"]
    names = list(stack)
    lines = ["| layer | us per request | this layer alone |", "|---|---:|---:|"]
    for i, name in enumerate(names):
        below = stack[names[i + 1]] if i + 1 < len(names) else 0.0
        lines.append(f"| {name} | {stack[name]:.1f} | {stack[name] - below:.1f} |")
    lines += ["", "| inside the infer door | us |", "|---|---:|"]
    lines += [f"| {name} | {us:.1f} |" for name, us in result["parts_us"].items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--update-reference", action="store_true", help=f"write {REFERENCE.relative_to(ROOT)}"
    )
    args = parser.parse_args()
    result = asyncio.run(measure(args.requests, args.rounds))
    result["load_avg_1m"] = round(os.getloadavg()[0], 2)
    print(table(result))
    target = REFERENCE if args.update_reference else OUT
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {target}")


if __name__ == "__main__":
    main()
