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

    def error_log(self) -> str:
        return (self.workdir / "error.log").read_text()

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


@contextmanager
def flask_page_behind_nginx(workdir: Path, env: dict[str, str]) -> Iterator[str]:
    """The Flask page with docker-compose.yml's command and ``env``, behind nginx's page
    port; yields the page's URL through nginx and stops both at exit."""
    import yaml

    from .conftest import PROJECT_ROOT, require_program
    from .processes import start_flask_page

    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    page = start_flask_page(workdir / "flask", compose["services"]["flask"]["command"], env)
    nginx: Managed | None = None
    try:
        nginx_dir = workdir / "nginx"
        nginx_dir.mkdir()
        api_port, page_port = free_port(), free_port()
        config = render_nginx(api_ports=[free_port(), free_port()], listen_port=api_port,
                              workdir=nginx_dir, flask_port=page.port,
                              page_listen_port=page_port)  # fmt: skip
        nginx = start_nginx(require_program("nginx"), config, nginx_dir, api_port)
        yield f"http://127.0.0.1:{page_port}"
    finally:
        if nginx is not None:
            nginx.stop()
        page.stop()
