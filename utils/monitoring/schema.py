"""The prediction log's tables (SQLAlchemy Core), one definition for every database.

Migrations in ``utils/monitoring/migrations`` create exactly these (a test compares the
migrated database with this metadata). Times are Unix seconds in a double: comparable and
indexable in SQLite and PostgreSQL alike, and what ``time.time()`` gives.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER only

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(128), nullable=False),
    sa.Column("row", sa.Integer, nullable=False, server_default="0"),
    sa.Column("time", sa.Double, nullable=False),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("latency_ms", sa.Double, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("client", sa.String(128), nullable=True),
    sa.Column("route", sa.String(64), nullable=False, server_default=""),
    sa.Column("inputs", sa.JSON, nullable=True),
    sa.Column("features", sa.LargeBinary, nullable=True),
    sa.Column("predicted_label", sa.String(128), nullable=True),
    sa.Column("confidence", sa.Double, nullable=True),
    sa.Column("predicted_value", sa.Double, nullable=True),
    sa.Column("outputs", sa.JSON, nullable=True),
    sa.Column("error", sa.String(512), nullable=True),
    sa.Index("ix_predictions_request", "request_id", "row"),
    sa.Index("ix_predictions_model_time", "model", "version", "time"),
    sa.Index("ix_predictions_time", "time"),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("row", sa.Integer, primary_key=True, server_default="0"),
    sa.Column("time", sa.Double, nullable=False),
    sa.Column("label", sa.String(128), nullable=True),
    sa.Column("value", sa.Double, nullable=True),
    sa.Index("ix_feedback_time", "time"),
)
