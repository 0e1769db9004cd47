"""Small pieces every route module uses: the serving state, versions, JSON responses."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from TP_Docker.serving import Serving
from utils.errors import ModelNotFound, UnsupportedMediaType


def serving_of(request: Request) -> Serving:
    """The app's :class:`Serving` (set by ``create_app``)."""
    return request.app.state.serving  # type: ignore[no-any-return]


def parse_version(model: str, version: str | None) -> int | None:
    """A version path segment as an int (None = latest); anything else is an unknown version."""
    if version is None:
        return None
    if not version.isdecimal() or int(version) < 1:
        raise ModelNotFound(f"model {model!r} has no version {version!r}: versions are 1, 2, ...")
    return int(version)


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """orjson-encoded JSON (numpy-aware), without FastAPI's jsonable_encoder pass."""
    body = orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


JSON_TYPES = ("application/json",)


def check_json_type(content_type: str | None, *, allow_binary: bool = False) -> None:
    """Refuse a body declared as something other than JSON (415, saying which header to set)."""
    if content_type is None:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media in JSON_TYPES or media.endswith("+json"):
        return
    if allow_binary and media == "application/octet-stream":
        return
    raise UnsupportedMediaType(
        f"Content-Type {media!r} is not accepted: send JSON with 'Content-Type: application/json'"
    )
