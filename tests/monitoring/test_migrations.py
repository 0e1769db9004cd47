"""Alembic migrations create exactly the tables the code reads and writes."""

from __future__ import annotations

import multiprocessing

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from utils.monitoring.database import create_engine, migrate, open_database
from utils.monitoring.schema import metadata


def _differences(engine: sa.Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = open_database(database_url)
    assert _differences(engine) == []


def test_the_comparison_notices_a_missing_index(database_url: str) -> None:
    engine = open_database(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX ix_feedback_time"))
    assert _differences(engine) != []


def test_migrating_again_changes_nothing(database_url: str) -> None:
    engine = open_database(database_url)
    migrate(engine)
    with engine.connect() as connection:
        version = (
            connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        )
    assert version == ["0001"]


def _open(url: str) -> None:
    open_database(url).dispose()


def test_workers_starting_together_migrate_once(database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_open, args=(database_url,)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert _differences(create_engine(database_url)) == []
