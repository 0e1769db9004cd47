"""docker-compose.yml, validated without a Docker engine.

Two validators: the Compose Specification JSON schema that Debian's `docker-compose` package
ships (read from the installed package at test time, checked here with `jsonschema`) and
that client's own `docker-compose config` (v1, installed by `make system-deps`). Then the
wiring the issue asks for, read from the file.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from .conftest import DEPLOY, PROJECT_ROOT, require_program

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
MEMORY_BUDGET_BYTES = 512 * 1024**2
_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def api_services() -> list[str]:
    """The API replicas: services named api-<n>."""
    return [name for name in load_compose()["services"] if re.fullmatch(r"api-\d+", name)]


@functools.cache
def installed_compose_schema() -> dict[str, Any]:
    """The Compose Specification schema bundled with the installed `docker-compose` client.

    Read from the package, not copied into the repository: the interpreter named by the
    client's shebang (Debian: /usr/bin/python3) says where its `compose` package lives, so
    this is the very schema `docker-compose config` applies. Skipped, saying why, only when
    the client is missing (`make system-deps` installs it, so CI runs this check).
    """
    program = shutil.which("docker-compose")
    if program is None:
        pytest.skip(
            "docker-compose is not installed (its package ships the Compose "
            "Specification schema): run `make system-deps`"
        )
    with open(program, "rb") as client:
        first_line = client.readline(512).decode(errors="replace")
    # A Python client names its interpreter (Debian: "#!/usr/bin/python3"); ask that one.
    interpreter = shlex.split(first_line[2:]) if first_line.startswith("#!") else []
    found = subprocess.run(
        [
            *(interpreter or ["/usr/bin/python3"]),
            "-c",
            "import compose, os; print(os.path.dirname(compose.__file__))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    schema = Path(found.stdout.strip()) / "config" / "compose_spec.json"
    if found.returncode != 0 or not schema.is_file():
        pytest.skip(
            f"{program} has no compose/config/compose_spec.json beside its `compose` "
            f"package ({found.stderr.strip() or schema}): run `make system-deps`"
        )
    loaded: dict[str, Any] = json.loads(schema.read_text())
    return loaded


def schema_errors(document: dict[str, Any]) -> list[str]:
    # The file declares draft 2019-09 (as "...schema#", which jsonschema's lookup misses).
    validator = jsonschema.Draft201909Validator(installed_compose_schema())
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


def test_the_schema_check_refuses_a_misspelled_service_key() -> None:
    compose = load_compose()
    compose["services"]["nginx"]["healtcheck"] = compose["services"]["nginx"].pop("healthcheck")
    assert any("healtcheck" in error for error in schema_errors(compose))


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
