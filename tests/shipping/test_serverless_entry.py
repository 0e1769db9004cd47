"""api/index.py, the Vercel entry, driven the way Vercel's Python runtime drives it: no
ASGI lifespan, and every request inside its own fresh ``asyncio.run`` (fast; the real
bundle built by Vercel's CLI is test_vercel.py)."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from types import ModuleType
from typing import Any

import httpx
import pytest

from .conftest import PROJECT_ROOT
from .dockerfile import context_files

ENTRY = PROJECT_ROOT / "api" / "index.py"


def load_entry(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location("vercel_entry_under_test", ENTRY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def request_on_a_fresh_loop(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request, one new event loop, no lifespan: what vc__handler__python does."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vercel") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(send())


@pytest.fixture(scope="module")
def entry() -> ModuleType:
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("API_RATE_LIMIT", raising=False)
        return load_entry(monkeypatch)


def test_the_serverless_app_is_ready_without_any_lifespan(entry: ModuleType) -> None:
    response = request_on_a_fresh_loop(entry.app, "GET", "/v2/health/ready")
    assert response.status_code == 200


def test_the_serverless_app_answers_on_a_new_event_loop_for_every_request(
    entry: ModuleType, digit_samples: tuple[list[list[float]], list[int]]
) -> None:
    rows, labels = digit_samples
    predicted = []
    for row in rows[:3]:
        body = {"model": "digits_torch", "inputs": [row]}
        response = request_on_a_fresh_loop(entry.app, "POST", "/predict", json=body)
        assert response.status_code == 200, response.text
        predicted.append(int(response.json()["predictions"][0]["label"]))
    assert predicted == labels[:3]


def test_the_serverless_app_runs_without_dynamic_batching(entry: ModuleType) -> None:
    assert entry.app.state.plane.settings.batching is False


def test_the_serverless_rate_limit_is_off_unless_configured(
    entry: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert entry.app.state.settings.rate_limit == ""
    configured = load_entry(monkeypatch, API_RATE_LIMIT="5/second")
    assert configured.app.state.settings.rate_limit == "5/second"


def test_the_entry_imports_no_training_framework() -> None:
    # In a fresh interpreter: this test process has imported scikit-learn for its samples.
    probe = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "print(sorted({'torch', 'tensorflow', 'sklearn', 'keras'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(ENTRY)], capture_output=True,
                            text=True, timeout=60, check=True, cwd="/")  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_vercelignore_uploads_what_the_function_needs_and_nothing_else() -> None:
    kept = set(context_files(PROJECT_ROOT, PROJECT_ROOT / ".vercelignore"))
    needed = {"api/index.py", "vercel.json", "requirements.txt", "utils/__init__.py",
              "TP_Docker/app.py", "TP_Docker/settings.py"}  # fmt: skip
    assert needed <= kept
    assert any(path.startswith("models/") and path.endswith("/model.onnx") for path in kept)
    tops = {path.split("/")[0] for path in kept}
    assert tops.isdisjoint({"tests", ".venv", ".git", "notebooks", "TP_ONNX", "TP_Flask"})
