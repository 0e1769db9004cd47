"""A throwaway PostgreSQL 15 cluster on 127.0.0.1 (Debian's binaries), for tests and the
durability measurement: ``initdb`` + ``pg_ctl`` in a temporary folder, stopped and deleted
by :meth:`PostgresCluster.stop`.

``initdb`` refuses to run as root (CI runs as root): then the cluster is created and run as
the ``postgres`` user the Debian package adds (``runuser -u postgres``), in a folder made
for it under /tmp. Run as anyone else, it runs as that user.
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
from typing import Final

BIN: Final[Path] = Path("/usr/lib/postgresql/15/bin")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed or would not start (the message says which and why)."""


def _as(owner: str | None, *command: str) -> list[str]:
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

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        data = str(self.folder / "data")
        stop = _as(self.owner, str(BIN / "pg_ctl"), "-D", data, "-m", "immediate", "stop")
        subprocess.run(stop, capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster() -> PostgresCluster:
    """initdb + pg_ctl start on a free loopback port (trust authentication, loopback only).

    :raise PostgresUnavailable: not installed (``make system-deps``) or failed to start.
    """
    if not (BIN / "initdb").is_file():
        raise PostgresUnavailable(
            "PostgreSQL 15 is not installed: run `make system-deps` (Debian package postgresql)"
        )
    owner: str | None = None
    folder = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))
    if os.geteuid() == 0:
        owner = "postgres"
        user = pwd.getpwnam(owner)
        os.chown(folder, user.pw_uid, user.pw_gid)
    data = str(folder / "data")
    initdb = subprocess.run(
        _as(owner, str(BIN / "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if initdb.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise PostgresUnavailable(f"initdb failed: {initdb.stderr[-2000:]}")
    port = _free_port()
    options = f"-h 127.0.0.1 -p {port} -k {folder} -c max_connections=200"
    log = folder / "server.log"
    started = subprocess.run(
        _as(
            owner,
            str(BIN / "pg_ctl"),
            "-D",
            data,
            "-w",
            "-t",
            "60",
            "-l",
            str(log),
            "-o",
            options,
            "start",
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if started.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise PostgresUnavailable(f"pg_ctl start failed: {started.stderr}{tail}")
    return PostgresCluster(folder, port, owner)
