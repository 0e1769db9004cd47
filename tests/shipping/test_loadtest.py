"""`make loadtest` runs Locust headless against a real server and writes its reports."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .conftest import PROJECT_ROOT
from .loopback import compose_environment
from .processes import ApiReplica, Managed, start_flask_page


def run_loadtest(
    host: str, user: str, out: Path, seconds: int = 4
) -> subprocess.CompletedProcess[str]:
    make = shutil.which("make")
    assert make is not None
    return subprocess.run(
        [
            make,
            "-s",
            "loadtest",
            f"LOADTEST_HOST={host}",
            f"LOADTEST_USER={user}",
            "LOADTEST_USERS=4",
            f"LOADTEST_TIME={seconds}s",
            f"LOADTEST_OUT={out}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "LOADTEST_WAIT_MS": "20"},
    )


def aggregated(out: Path) -> dict[str, str]:
    with (out / "loadtest_stats.csv").open() as stats:
        return next(row for row in csv.DictReader(stats) if row["Name"] == "Aggregated")


def test_make_loadtest_loads_the_v2_api_and_writes_html_and_csv(
    api_replica: ApiReplica, tmp_path: Path
) -> None:
    result = run_loadtest(api_replica.url, "InferenceApiUser", tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    totals = aggregated(tmp_path)
    assert int(totals["Request Count"]) >= 20 and int(totals["Failure Count"]) == 0
    assert (tmp_path / "report.html").stat().st_size > 10_000


@pytest.fixture(scope="module")
def flask_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Managed]:
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    # The page allows 120 predictions a minute per client; a load test is one client.
    env = {**compose_environment("flask"), "WEB_RATE_LIMIT": "100000 per minute"}
    command = compose["services"]["flask"]["command"]
    page = start_flask_page(tmp_path_factory.mktemp("flask"), command, env)
    try:
        yield page
    finally:
        page.stop()


def test_make_loadtest_loads_the_flask_json_api(flask_page: Managed, tmp_path: Path) -> None:
    result = run_loadtest(flask_page.url, "FlaskApiUser", tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    totals = aggregated(tmp_path)
    assert int(totals["Request Count"]) >= 20 and int(totals["Failure Count"]) == 0
