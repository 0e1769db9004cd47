"""Render the project's nginx.conf and prometheus.yml for programs on 127.0.0.1.

The compose stack reaches its services by name (``api-1:8000``); the tests run the same
files with every address swapped for a loopback port, and nothing else changed: the
upstream options, timeouts, retries and scrape jobs under test are the committed ones.
Each renderer refuses a file whose shape it no longer recognises, so a change to the
config cannot silently make the tests run something else.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = PROJECT_ROOT / "deploy" / "nginx" / "nginx.conf"
PROMETHEUS_YML = PROJECT_ROOT / "deploy" / "prometheus" / "prometheus.yml"

_API_SERVER = re.compile(r"server api-\d+:8000(?P<options>[^;]*);")
_FLASK_SERVER = re.compile(r"server flask:5000(?P<options>[^;]*);")


def render_nginx(
    *,
    api_ports: list[int],
    listen_port: int,
    workdir: Path,
    flask_port: int | None = None,
    page_listen_port: int | None = None,
) -> Path:
    """Write ``workdir/nginx.conf``: the project's file with loopback upstreams and ports.

    The API upstream gets one ``server`` line per port in ``api_ports`` with the committed
    options (max_fails, fail_timeout); temp files go to ``workdir``; access logs too. The
    page's server (8080 in the file) listens on ``page_listen_port`` and proxies to
    ``flask_port``; when a test leaves them out they get free ports of their own.
    """
    text = NGINX_CONF.read_text()
    committed = _API_SERVER.findall(text)
    if len(committed) < 2:
        raise ValueError(
            f"{NGINX_CONF}: expected >= 2 `server api-N:8000` lines, found {committed}"
        )
    options = committed[0]
    first = _API_SERVER.search(text)
    assert first is not None
    lines = "\n        ".join(f"server 127.0.0.1:{port}{options};" for port in api_ports)
    text = text[: first.start()] + lines + _API_SERVER.sub("", text[first.end() :])
    text = _FLASK_SERVER.sub(
        lambda m: f"server 127.0.0.1:{flask_port or free_placeholder_port()}{m['options']};", text
    )
    page_port = page_listen_port or free_placeholder_port()
    for committed_port, port in ((8000, listen_port), (8080, page_port)):
        pattern = f"listen {committed_port};"
        if pattern not in text:
            raise ValueError(f"{NGINX_CONF}: `{pattern}` not found")
        text = text.replace(pattern, f"listen 127.0.0.1:{port};")
    text = text.replace("/dev/stdout", str(workdir / "access.log"))
    temp_paths = "".join(
        f"    {kind}_temp_path {workdir / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = text.replace("http {\n", "http {\n" + temp_paths, 1)
    if os.geteuid() == 0:
        # As root, nginx's workers would run as `nobody`, who cannot enter pytest's 0700
        # temp folders; the container runs them as its own `nginx` user instead.
        text = "user root;\n" + text
    path = workdir / "nginx.conf"
    path.write_text(text)
    return path


def free_placeholder_port() -> int:
    """A free port for a listener or upstream that the test does not use."""
    from .processes import free_port

    return free_port()


def render_prometheus(
    *,
    api_targets: list[str],
    workdir: Path,
    scrape_interval: str = "1s",
    flask_targets: list[str] | None = None,
) -> Path:
    """Write ``workdir/prometheus.yml``: the project's jobs pointed at loopback targets.

    Jobs keep their names, paths and rule files (copied beside it); only targets and the
    intervals change, so a test sees samples within seconds.
    """
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    config["global"]["scrape_interval"] = scrape_interval
    config["global"]["evaluation_interval"] = scrape_interval
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    if "inference-api" not in jobs:
        raise ValueError(f"{PROMETHEUS_YML}: no `inference-api` scrape job")
    jobs["inference-api"]["static_configs"] = [{"targets": api_targets}]
    if "flask-page" in jobs:
        if flask_targets:
            jobs["flask-page"]["static_configs"] = [{"targets": flask_targets}]
        else:
            config["scrape_configs"].remove(jobs["flask-page"])
    if "prometheus" in jobs:
        config["scrape_configs"].remove(jobs["prometheus"])
    for rule_file in config.get("rule_files", []):
        source = PROMETHEUS_YML.parent / rule_file
        (workdir / rule_file).write_text(source.read_text())
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}")


def compose_environment(service: str) -> dict[str, str]:
    """A compose service's environment as its container would see it on loopback.

    ``${NAME:-default}`` takes its default (not this shell's value: a developer's exported
    API_API_KEYS must not change what the tests run), and nginx's fixed compose address,
    which the replicas trust for forwarded headers, becomes 127.0.0.1, where the tests'
    nginx connects from.
    """
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    nginx_address = compose["services"]["nginx"]["networks"]["default"]["ipv4_address"]
    env: dict[str, str] = {}
    for key, value in (compose["services"][service].get("environment") or {}).items():
        text = _INTERPOLATION.sub(lambda m: m["default"] or "", str(value))
        env[key] = text.replace(nginx_address, "127.0.0.1")
    return env
