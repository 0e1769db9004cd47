"""Make /openapi.json tell the truth: refusals as they are answered, and v2 infer.

- FastAPI documents a 422 with its own validation body on every route that takes a
  body, but the app answers 400 ``{"error": ...}`` instead (the same code as the Flask app
  and the Open Inference Protocol): each 422 becomes a 400 with the ``Error`` body.
- ``POST /v2/models/{name}[/versions/{v}]/infer`` has no FastAPI route (the ASGI fast path
  is its one implementation), so its two operations are added here, with the request
  schema whose datatype enum comes from the codec (``schemas.INFER_OPENAPI``).
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI

from TP_Docker.schemas import INFER_OPENAPI

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {"error": {"type": "string", "title": "Error"}},
    "required": ["error"],
    "description": 'Every refusal: {"error": "<what is wrong and what to do>"}',
}

_NAME = {"name": "model_name", "in": "path", "required": True, "schema": {"type": "string"}}
_VERSION = {"name": "model_version", "in": "path", "required": True, "schema": {"type": "string"}}
INFER_PATHS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "/v2/models/{model_name}/infer": ("Inference (latest version)", [_NAME]),
    "/v2/models/{model_name}/versions/{model_version}/infer": (
        "Inference (one version)",
        [_NAME, _VERSION],
    ),
}


def install_openapi(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so the schema is rewritten once, at first request."""
    build_schema = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build_schema()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None:
                    responses.setdefault("400", {"description": "Bad input"})
                    responses["400"]["content"] = {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    }
        for path, (summary, parameters) in INFER_PATHS.items():
            operation = copy.deepcopy(INFER_OPENAPI)
            operation.update(
                {
                    "tags": ["Open Inference Protocol v2"],
                    "summary": summary,
                    "description": "Run the model on v2 JSON tensors (or the binary tensor "
                    "extension). Text models also take their sentences as a BYTES "
                    "tensor named `text`.",
                    "operationId": "infer_" + ("version" if len(parameters) == 2 else "latest"),
                    "parameters": parameters,
                }
            )
            schema["paths"][path] = {"post": operation}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Error"] = ERROR_SCHEMA
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
