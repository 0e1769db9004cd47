"""The prediction log and its feedback.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "predictions",
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
    )
    op.create_index("ix_predictions_request", "predictions", ["request_id", "row"])
    op.create_index("ix_predictions_model_time", "predictions", ["model", "version", "time"])
    op.create_index("ix_predictions_time", "predictions", ["time"])
    op.create_table(
        "feedback",
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("row", sa.Integer, primary_key=True, server_default="0"),
        sa.Column("time", sa.Double, nullable=False),
        sa.Column("label", sa.String(128), nullable=True),
        sa.Column("value", sa.Double, nullable=True),
    )
    op.create_index("ix_feedback_time", "feedback", ["time"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("predictions")
