"""nginx (the project's nginx.conf rendered for loopback) in front of live API replicas,
each replica with an environment of its own, as one context manager that stops all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .loopback import render_nginx
from .processes import ApiReplica, Managed, free_port, start_api_replica, start_nginx


@dataclass
class NginxStack:
    """Replicas behind nginx, with nginx's logs in ``workdir``."""

    replicas: list[ApiReplica]
    nginx: Managed
    workdir: Path

    def url(self, path: str) -> str:
        return f"{self.nginx.url}{path}"

    def access_log(self) -> str:
        return (self.workdir / "access.log").read_text()

    def upstreams_of(self, request_id_prefix: str) -> list[str]:
        """The replica address that answered each logged request whose id has the prefix
        (the last one tried when nginx retried)."""
        found = []
        for line in self.access_log().splitlines():
            if f"rid={request_id_prefix}" in line:
                tried = line.split("upstream=")[1].split(" ustatus=")[0]
                found.append(tried.split(",")[-1].strip())
        return found


@contextmanager
def nginx_stack(workdir: Path, replica_envs: list[dict[str, str]]) -> Iterator[NginxStack]:
    """Start one replica per environment, then nginx in front; stop everything at exit."""
    from .conftest import require_program

    nginx_bin = require_program("nginx")
    replicas: list[ApiReplica] = []
    nginx: Managed | None = None
    try:
        for env in replica_envs:
            replicas.append(start_api_replica(workdir, extra_env=env))
        nginx_dir = workdir / "nginx"
        nginx_dir.mkdir()
        port = free_port()
        config = render_nginx(
            api_ports=[r.port for r in replicas], listen_port=port, workdir=nginx_dir
        )
        nginx = start_nginx(nginx_bin, config, nginx_dir, port)
        yield NginxStack(replicas=replicas, nginx=nginx, workdir=nginx_dir)
    finally:
        if nginx is not None:
            nginx.stop()
        for replica in replicas:
            replica.stop()
