"""Every command-line script answers --help with its usage and exits, doing nothing else.

The scripts are discovered, not listed: any tracked .py file that runs as a program
(``if __name__ == "__main__":``) outside TP_Docker/ and TP_Flask/ (the apps, tested by
their own suites). A new script without argparse fails here the day it is added.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from utils.paths import PROJECT_ROOT

APPS = ("TP_Docker/", "TP_Flask/")
MAIN = re.compile(r'^if __name__ == "__main__":', re.MULTILINE)


def scripts() -> list[str]:
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return sorted(
        path
        for path in tracked
        if not path.startswith(APPS) and MAIN.search((PROJECT_ROOT / path).read_text())
    )


def test_the_discovery_finds_the_course_scripts() -> None:
    found = scripts()
    assert "TP_ONNX/model_conversion.py" in found
    assert "deploy/ci/model_quality_gate.py" in found


@pytest.mark.parametrize("script", scripts())
def test_help_prints_usage_and_exits_without_side_effects(script: str, tmp_path: Path) -> None:
    before = subprocess.run(
        ["git", "status", "--porcelain"], cwd=PROJECT_ROOT, capture_output=True, text=True
    ).stdout
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / script), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
    assert list(tmp_path.iterdir()) == []  # nothing written where it was run
    after = subprocess.run(
        ["git", "status", "--porcelain"], cwd=PROJECT_ROOT, capture_output=True, text=True
    ).stdout
    assert after == before  # and nothing changed in the project
