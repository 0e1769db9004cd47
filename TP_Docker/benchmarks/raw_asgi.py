"""The ceiling: a raw ASGI app under the same uvicorn (uvloop + httptools), no framework,
no model. It reads the body and answers a constant 60-byte JSON. What Python can answer
here at all; our server's requests/s divided by this one's is how much of that ceiling the
whole request path (middleware, codec, validation, batching, onnxruntime) leaves.
``uvicorn TP_Docker.benchmarks.raw_asgi:app`` (run by ``bench_serve.py``).
"""

from __future__ import annotations

from typing import Any

BODY = b'{"model_name":"m","outputs":[{"name":"y","data":[0.0]}]}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every HTTP request with the constant body (lifespan events are ignored)."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
