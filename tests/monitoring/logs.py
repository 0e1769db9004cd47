"""Small builders shared by the prediction-log tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import sqlalchemy as sa

from utils.monitoring.records import PredictionRecord
from utils.monitoring.schema import predictions


def digit_record(
    request_id: str, *, label: str = "3", rows: int = 1, **extra: Any
) -> PredictionRecord:
    """A successful request of ``rows`` 8x8 inputs, each predicted ``label``."""
    pixels = np.linspace(0, 1, 64 * rows, dtype=np.float32).reshape(rows, 1, 8, 8)
    fields: dict[str, Any] = {
        "inputs": {"input": pixels},
        "labels": [label] * rows,
        "confidences": [0.9] * rows,
        "client": "key-1",
        "route": "v2-infer",
        **extra,
    }
    return PredictionRecord(request_id, "digits", "1", 0.4, **fields)


def logged_rows(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [
            dict(r._mapping)
            for r in connection.execute(sa.select(predictions).order_by(predictions.c.id))
        ]


def row_count(url: str) -> int:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(sa.select(sa.func.count()).select_from(predictions)).scalar_one()
            )
    finally:
        engine.dispose()


def infer_v2(plane: Any, model: str, flat: list[float], context: Any) -> Any:
    """One v2 JSON infer of a [1, 64] digit through the data plane's async door."""
    import orjson

    body = orjson.dumps(
        {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 64], "data": flat}]}
    )
    return plane.call(
        plane.infer_v2(
            model, None, body, content_type="application/json", header_length=None, context=context
        )
    )
