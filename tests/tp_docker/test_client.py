"""TP_Docker/client.py: the serve-predict-watch loop that `make demo` runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from utils.paths import PROJECT_ROOT

CLIENT = PROJECT_ROOT / "TP_Docker" / "client.py"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CLIENT), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_client_with_its_own_server_reads_the_digit_with_every_served_version(
    tmp_path: Path,
) -> None:
    image = PROJECT_ROOT / "tests" / "testdata" / "digit_3.png"
    result = _run("--start-server", "--image", str(image), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("digits_")]
    assert {row[0] for row in rows} == {"digits_torch", "digits_keras", "digits_sklearn"}
    assert all(row[3] == "3" for row in rows), result.stdout


def test_client_prints_the_metrics_the_server_counted_for_its_requests(tmp_path: Path) -> None:
    image = PROJECT_ROOT / "tests" / "testdata" / "digit_7.png"
    result = _run("--start-server", "--image", str(image), cwd=tmp_path)
    assert 'inference_requests_total{model="digits_torch",status="200",version="1"} 1.0' in (
        result.stdout
    )


def test_client_without_a_server_says_so_in_one_line(tmp_path: Path) -> None:
    image = PROJECT_ROOT / "tests" / "testdata" / "digit_3.png"
    result = _run("--url", "http://127.0.0.1:9", "--image", str(image), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: cannot reach http://127.0.0.1:9")
