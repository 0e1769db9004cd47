"""Alembic environment of the prediction log: run by :func:`utils.monitoring.database.migrate`
on a connection it hands over (``config.attributes["connection"]``), or by the ``alembic``
command with ``-x url=...`` (see ``docs/monitoring.md``)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from utils.monitoring.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # the alembic command line: -x url=sqlite:///out/prediction_log.sqlite3
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("give the database: alembic ... -x url=<SQLAlchemy URL>")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=metadata)
        context.run_migrations()
    engine.dispose()
else:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
