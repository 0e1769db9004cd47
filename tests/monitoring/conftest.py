"""Fixtures of the monitoring tests: a database of each kind, the digits profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from utils.monitoring.throwaway_postgres import PostgresCluster, PostgresUnavailable, start_cluster


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One PostgreSQL 15 server for the session (each test gets its own database).

    Fails, not skips, when PostgreSQL is missing: CI installs it (`make system-deps`), and
    a skipped half of the prediction-log tests would let a PostgreSQL bug land unseen.
    """
    try:
        cluster = start_cluster()
    except PostgresUnavailable as error:
        pytest.fail(str(error))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty prediction-log database: an SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'prediction_log.sqlite3'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.create_database()


@pytest.fixture(scope="session")
def digits_profile() -> dict[str, Any]:
    """The reference profile of the digits training split (what the manifests carry)."""
    from utils.conversion.profile import digits_reference_profile

    return digits_reference_profile()


@pytest.fixture(scope="session")
def digits_split() -> Any:
    from utils.digits import load_split

    return load_split()
