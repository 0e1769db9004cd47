"""docker-compose.yml, validated without a Docker engine.

Two independent validators: the Compose Specification's JSON schema (vendored in
deploy/schemas/, always available) and Debian's `docker-compose config` (v1 client,
installed by `make system-deps`). Then the wiring the issue asks for, read from the file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from .conftest import DEPLOY, PROJECT_ROOT, require_program

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
SCHEMA = DEPLOY / "schemas" / "compose-spec.json"
MEMORY_BUDGET_BYTES = 512 * 1024**2
_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def api_services() -> list[str]:
    """The API replicas: services named api-<n>."""
    return [name for name in load_compose()["services"] if re.fullmatch(r"api-\d+", name)]


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def docker_compose_config(
    compose_file: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_program("docker-compose"), "-f", str(compose_file), "config", "-q"],
        cwd=compose_file.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **env},
    )


def memory_bytes(text: str) -> int:
    match = re.fullmatch(r"(\d+)([bkmg])?b?", str(text).lower())
    assert match, f"unreadable memory size {text!r}"
    return int(match[1]) * _UNITS[match[2] or "b"]


def test_the_compose_file_matches_the_compose_specification_schema() -> None:
    assert schema_errors(load_compose()) == []


def test_the_schema_check_refuses_a_misspelled_depends_on_condition() -> None:
    compose = load_compose()
    compose["services"]["nginx"]["depends_on"]["api-1"]["condition"] = "service_ready"
    assert any("service_ready" in error for error in schema_errors(compose))


def test_docker_compose_config_accepts_the_file() -> None:
    result = docker_compose_config(COMPOSE_FILE, {"GRAFANA_ADMIN_PASSWORD": "test-only"})
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_to_start_grafana_without_an_admin_password() -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRAFANA_ADMIN_PASSWORD"}
    result = subprocess.run(
        [require_program("docker-compose"), "config", "-q"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode != 0
    assert "GRAFANA_ADMIN_PASSWORD" in result.stderr


def test_at_least_two_api_replicas_are_built_from_the_root_dockerfile() -> None:
    services = load_compose()["services"]
    replicas = api_services()
    assert len(replicas) >= 2
    assert all(services[name]["build"]["dockerfile"] == "Dockerfile" for name in replicas)


@pytest.mark.parametrize("name", sorted(load_compose()["services"]))
def test_every_service_has_a_healthcheck_and_a_memory_limit_within_512_mib(name: str) -> None:
    service = load_compose()["services"][name]
    assert service["healthcheck"]["test"]
    limit = service["deploy"]["resources"]["limits"]["memory"]
    assert memory_bytes(limit) <= MEMORY_BUDGET_BYTES


def test_every_dependency_waits_for_a_healthy_service() -> None:
    services = load_compose()["services"]
    conditions = {
        (name, dep): spec["condition"]
        for name, svc in services.items()
        for dep, spec in svc.get("depends_on", {}).items()
    }
    assert conditions, "no depends_on at all"
    assert set(conditions.values()) == {"service_healthy"}


def test_nginx_balances_every_api_replica_of_the_compose_file() -> None:
    services = load_compose()["services"]
    api = set(api_services())
    conf = (DEPLOY / "nginx" / "nginx.conf").read_text()
    upstream = set(re.findall(r"server (api-\d+):8000", conf))
    assert upstream == api
    assert "./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]


def test_prometheus_scrapes_every_api_replica_and_the_flask_page() -> None:
    api = {f"{name}:8000" for name in api_services()}
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: set(job["static_configs"][0]["targets"])
        for job in config["scrape_configs"]
    }
    assert targets["inference-api"] == api
    assert targets["flask-page"] == {"flask:5000"}


def test_every_file_the_compose_file_mounts_exists() -> None:
    for service in load_compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (PROJECT_ROOT / source).exists(), source


def test_every_api_setting_the_compose_file_sets_is_one_the_server_reads() -> None:
    from TP_Docker.settings import Settings

    names = {f"API_{name.upper()}" for name in Settings.model_fields}
    env = load_compose()["services"]["api-1"]["environment"]
    assert {key for key in env if key.startswith("API_")} <= names
