"""The prediction log's database: an engine for a URL, migrated to the current schema.

SQLite by default (one file, nothing to run), in WAL mode: readers never block the
writer, and each worker process's writer waits its turn (``busy_timeout``) instead of
failing on a lock. ``synchronous=NORMAL`` in WAL loses no committed transaction when a
process dies (only a power cut can take the last ones); PostgreSQL through psycopg 3 by a
``postgresql://`` URL. Several processes start at once under gunicorn or uvicorn workers,
so migrations are serialised: a file lock beside an SQLite file, an advisory lock on
PostgreSQL.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from utils.paths import PROJECT_ROOT

DEFAULT_URL: Final[str] = f"sqlite:///{PROJECT_ROOT / 'out' / 'prediction_log.sqlite3'}"
"""``out/prediction_log.sqlite3`` of the repository, whatever the working directory: the
one log every worker of both apps writes by default, and the report reads."""
BUSY_TIMEOUT_MS: Final[int] = 10_000
MIGRATIONS: Final[Path] = Path(__file__).with_name("migrations")
_PG_MIGRATION_LOCK: Final[int] = 0x5052_4544  # "PRED": any constant the project owns


def normalise_url(url: str) -> sa.URL:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy's default driver is psycopg2)."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_pragmas(synchronous: str) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    return on_connect


def create_engine(url: str, *, durable: bool = False) -> sa.Engine:
    """An engine for ``url``; an SQLite file's folder is created, WAL mode switched on.

    ``durable`` makes SQLite sync the WAL at every commit (``synchronous=FULL``): a
    committed row then survives a power cut too, not only the death of the process.
    PostgreSQL commits durably by default (``synchronous_commit=on``).
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        pragmas = _sqlite_pragmas("FULL" if durable else "NORMAL")
        sa.event.listen(engine, "connect", pragmas)
        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, pool_size=2, max_overflow=2)


@contextmanager
def _migration_lock(engine: sa.Engine) -> Iterator[sa.Connection]:
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and database != ":memory:":
        with open(f"{database}.migrate-lock", "a+") as lock, engine.connect() as connection:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield connection
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return
    with engine.connect() as connection:
        if engine.url.get_backend_name() == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            connection.commit()
            try:
                yield connection
            finally:
                connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK}
                )
                connection.commit()
        else:
            yield connection


def alembic_config(connection: sa.Connection | None = None) -> Any:
    """Alembic's configuration for the migrations shipped here (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (the latest by default), one process at a time.

    Alembic's INFO lines (plugins set up, "Context impl SQLiteImpl") would land in the
    apps' JSON log at every start: only its warnings are kept.
    """
    logging.getLogger("alembic").setLevel(logging.WARNING)  # before its import logs plugins
    from alembic import command

    with _migration_lock(engine) as connection:
        command.upgrade(alembic_config(connection), revision)
        connection.commit()


def open_database(url: str) -> sa.Engine:
    """An engine for ``url`` whose schema is migrated to the latest revision."""
    engine = create_engine(url)
    migrate(engine)
    return engine
