"""Request and response shapes, for the OpenAPI documentation and the /predict endpoint.

The v2 infer hot path does not validate through these models (orjson + our codec are
several times faster); its OpenAPI request schema is written out here by hand so the
docs and schemathesis still know the shape.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_TENSOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "shape", "datatype"],
    "properties": {
        "name": {"type": "string", "example": "input"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}, "example": [1, 64]},
        "datatype": {
            "type": "string",
            "enum": [
                "BOOL",
                "UINT8",
                "UINT16",
                "UINT32",
                "UINT64",
                "INT8",
                "INT16",
                "INT32",
                "INT64",
                "FP16",
                "FP32",
                "FP64",
                "BYTES",
            ],
        },
        "parameters": {"type": "object"},
        "data": {"type": "array", "items": {}},
    },
}

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
            }
        },
    },
    "responses": {
        "400": {"description": "Bad input: the error names the tensor and what to send"},
        "404": {"description": "Unknown model or version"},
        "503": {"description": "Model not ready, or queue full (see Retry-After)"},
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

    ``inputs`` is a nested list of numbers (one row per example) for a model with one
    input, or an object of such lists by input name. Rows are reshaped to the model's
    input layout when the number of values fits (e.g. an 8x8 digit for a [-1,1,8,8] CNN).
    """

    model_config = ConfigDict(
        protected_namespaces=(),
        json_schema_extra={
            "example": {"model": "digits_sklearn", "inputs": [[0.0] * 64]},
        },
    )

    model: str = Field(..., min_length=1, max_length=200, description="Model name")
    version: int | None = Field(None, ge=1, description="Version; latest when omitted")
    inputs: list[Any] | dict[str, list[Any]] = Field(..., description="Rows of numbers")


class Prediction(BaseModel):
    """One classified row."""

    label: str
    index: int
    probabilities: list[float]


class PredictResponse(BaseModel):
    """``POST /predict`` answer: ``predictions`` for classifiers, else raw ``outputs``."""

    model: str
    version: int
    predictions: list[Prediction] | None = None
    outputs: dict[str, Any] | None = None
