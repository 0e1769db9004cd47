"""A throwaway PostgreSQL 15 cluster (Debian's binaries) on 127.0.0.1, for tests.

``initdb`` refuses to run as root, and CI runs as root: the cluster is then created and
run by the ``postgres`` user the Debian package adds (``runuser -u postgres``), in a
folder made for it under /tmp (pytest's own tmp folders are private to root). Run as
anyone else, it runs as that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_owner(owner: str | None, *command: str) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else list(command)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresCluster:
    folder: Path
    port: int
    owner: str | None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def stop(self) -> None:
        subprocess.run(
            _as_owner(
                self.owner,
                str(BIN / "pg_ctl"),
                "-D",
                str(self.folder / "data"),
                "-m",
                "immediate",
                "stop",
            ),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster() -> PostgresCluster:
    """initdb + pg_ctl start on a free loopback port; fails saying how to install."""
    if not (BIN / "initdb").is_file():
        pytest.fail("PostgreSQL 15 is not installed: run `make system-deps` (Debian package)")
    owner: str | None = None
    folder = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))
    if os.geteuid() == 0:
        owner = "postgres"
        user = pwd.getpwnam(owner)
        os.chown(folder, user.pw_uid, user.pw_gid)
    port = _free_port()
    initdb = subprocess.run(
        _as_owner(
            owner,
            str(BIN / "initdb"),
            "-D",
            str(folder / "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if initdb.returncode != 0:
        pytest.fail(f"initdb failed: {initdb.stderr[-2000:]}")
    started = subprocess.run(
        _as_owner(
            owner,
            str(BIN / "pg_ctl"),
            "-D",
            str(folder / "data"),
            "-w",
            "-t",
            "60",
            "-l",
            str(folder / "server.log"),
            "-o",
            f"-h 127.0.0.1 -p {port} -k {folder} -c max_connections=200",
            "start",
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if started.returncode != 0:
        log = (folder / "server.log").read_text(errors="replace")[-2000:]
        pytest.fail(f"pg_ctl start failed: {started.stderr}{log}")
    return PostgresCluster(folder, port, owner)
