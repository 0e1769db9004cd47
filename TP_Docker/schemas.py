"""Request and response shapes, for the OpenAPI documentation and the /predict endpoint.

The v2 infer fast path and /predict do not validate through these models (orjson + the
data plane's codec are several times faster, and one implementation serves both apps);
their OpenAPI schemas are declared here so the docs and schemathesis know the shapes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from utils.deployment_helpers.codec import DATATYPE_TO_NUMPY

_TENSOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "shape", "datatype"],
    "properties": {
        "name": {"type": "string", "example": "input"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}, "example": [1, 64]},
        "datatype": {"type": "string", "enum": list(DATATYPE_TO_NUMPY)},
        "parameters": {"type": "object"},
        "data": {"type": "array", "items": {}},
    },
}
"""One v2 tensor; the datatype enum is the codec's own table, so the two cannot differ."""

_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

INFER_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {
                        "id": {"type": "string"},
                        "parameters": {"type": "object"},
                        "inputs": {"type": "array", "items": _TENSOR_SCHEMA, "minItems": 1},
                        "outputs": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "parameters": {"type": "object"},
                                },
                            },
                        },
                    },
                }
            },
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"},
            },
        },
    },
    "responses": {
        "200": {
            "description": "The outputs (JSON, or JSON + binary tensors)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "400": {
            "description": "Bad input: names the tensor and what to send",
            "content": _ERROR_REF,
        },
        "404": {"description": "Unknown model or version", "content": _ERROR_REF},
        "415": {"description": "Neither JSON nor binary tensors", "content": _ERROR_REF},
        "503": {"description": "Not ready, or queue full (Retry-After)", "content": _ERROR_REF},
    },
}


class ServerMetadata(BaseModel):
    """``GET /v2``."""

    name: str
    version: str
    extensions: list[str]


class TensorMetadata(BaseModel):
    """One input or output of a model: v2 datatype and shape (-1 = any size)."""

    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(BaseModel):
    """``GET /v2/models/{name}``."""

    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]
    parameters: dict[str, Any] = Field(default_factory=dict)


class RepositoryEntry(BaseModel):
    """One row of ``POST /v2/repository/index``."""

    name: str
    version: str
    state: str
    reason: str = ""


class PredictRequest(BaseModel):
    """``POST /predict``: plain JSON for people and curl.

    ``inputs`` takes the form of the model's input kind: 8x8 pixels in [0, 1] for digits,
    rows of numbers (or objects by feature name) for tabular models, sentences for text
    models, windows of a series, or rows of numbers shaped like the model's input.
    """

    model_config = ConfigDict(
        protected_namespaces=(),
        json_schema_extra={
            "example": {"model": "digits_sklearn", "inputs": [[0.0] * 64]},
        },
    )

    model: str = Field(..., min_length=1, max_length=128, description="Model name")
    version: int | None = Field(None, ge=1, description="Version; latest when omitted")
    inputs: Any = Field(..., description="Rows, sentences or windows (see above)")


PREDICT_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": PredictRequest.model_json_schema()}},
    },
    "responses": {
        "400": {"description": "Bad input: says what this model takes", "content": _ERROR_REF},
        "404": {"description": "Unknown model or version", "content": _ERROR_REF},
        "415": {"description": "Not JSON", "content": _ERROR_REF},
        "503": {"description": "Not ready, or queue full (Retry-After)", "content": _ERROR_REF},
    },
}
"""The documented body: the data plane parses the raw body itself (one implementation for
the API and the page), so FastAPI does not validate it."""


class PredictResponse(BaseModel):
    """``POST /predict`` answer: one entry of ``predictions`` per input row."""

    request_id: str
    model: str
    version: int
    variant: str
    task: str
    input_kind: str
    latency_ms: float
    inference_ms: float
    predictions: list[dict[str, Any]]
    labels: list[str] | None = None


FEEDBACK_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["request_id"],
                        "properties": {
                            "request_id": {
                                "type": "string",
                                "description": "The X-Request-ID the prediction answered",
                            },
                            "row": {
                                "type": "integer",
                                "minimum": 0,
                                "default": 0,
                                "description": "Which row of a batched request",
                            },
                            "label": {
                                "type": "string",
                                "description": "True class (classifiers): one of the labels",
                            },
                            "value": {
                                "type": "number",
                                "description": "True value (models without classes)",
                            },
                        },
                    },
                },
                "example": [{"request_id": "3f9c0d2e5b7a41c8", "label": "3"}],
            }
        },
    },
    "responses": {
        "400": {
            "description": "A malformed item, a label that is not a class of the model, a "
            "label for a regressor or a value for a classifier, or the log is off",
            "content": _ERROR_REF,
        },
        "404": {
            "description": "Unknown model, or a request id the log does not hold for it",
            "content": _ERROR_REF,
        },
    },
}
"""``POST /v2/models/{name}/feedback``: the body is read by the monitoring library (one
implementation for the API and the Flask page), so FastAPI does not validate it."""


class FeedbackResponse(BaseModel):
    """``POST /v2/models/{name}/feedback`` answer."""

    model: str
    accepted: int
    """Items stored (a repeated item replaces the earlier one)."""
