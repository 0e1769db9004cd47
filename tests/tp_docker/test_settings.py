"""TP_Docker/settings.py: a malformed variable stops the server with one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from TP_Docker.settings import Settings
from utils.paths import PROJECT_ROOT


def _start_app(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "TP_Docker" / "app.py")],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unknown_log_level_stops_the_server_with_one_line_naming_the_variable(
    tmp_path: Path,
) -> None:
    result = _start_app(tmp_path, API_LOG_LEVEL="VERBOSE")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: API_LOG_LEVEL='VERBOSE'")
    assert "DEBUG" in lines[0]


@pytest.mark.parametrize("given", ["debug", "Warning", " error "])
def test_a_log_level_is_accepted_in_any_case(given: str) -> None:
    assert Settings(log_level=given).log_level == given.strip().upper()  # type: ignore[arg-type]


def test_the_serverless_entry_reports_a_malformed_variable_as_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    from utils.errors import ConfigurationError

    spec = importlib.util.spec_from_file_location("vercel_entry", PROJECT_ROOT / "api" / "index.py")
    assert spec is not None and spec.loader is not None
    entry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entry)  # a good environment: builds the app once
    monkeypatch.setenv("API_MAX_QUEUE_SIZE", "lots")
    with pytest.raises(ConfigurationError, match="API_MAX_QUEUE_SIZE='lots'"):
        entry.serverless_settings()
