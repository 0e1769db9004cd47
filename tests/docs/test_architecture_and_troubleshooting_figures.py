"""The figures of docs/architecture.md, and the messages docs/troubleshooting.md shows."""

from __future__ import annotations

import os
import subprocess
import sys

from utils.paths import PROJECT_ROOT

from .figures import assert_quoted, quoted


def test_the_minilm_size_is_the_minilm_results() -> None:
    assert_quoted("docs/architecture.md", r"not committed \(([\d.]+) MB in fp32\)",
                  "TP_Quantization/results/minilm.json", "size_bytes.fp32",
                  lambda v: f"{v / 1e6:.1f}")  # fmt: skip


def test_the_settings_error_shown_is_what_the_api_prints(tmp_path: object) -> None:
    shown = quoted("docs/troubleshooting.md", r"\n(error: API_MAX_QUEUE_SIZE=[^\n]+)")
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "TP_Docker.app:app", "--port", "0"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "API_MAX_QUEUE_SIZE": "lots"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert shown in done.stderr + done.stdout
