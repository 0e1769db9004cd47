"""The CI model-quality gate (deploy/ci/model_quality_gate.py) on real manifests."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from utils.deployment_helpers.manifest import Manifest, TensorSpec, VersionInfo, write_manifest

from .conftest import DEPLOY, PROJECT_ROOT

GATE = DEPLOY / "ci" / "model_quality_gate.py"


def load_gate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("model_quality_gate", GATE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


gate = load_gate()


def version(
    variant: str, accuracy: float | None, budget: float | None = None, source: float | None = None
) -> VersionInfo:
    metrics = {} if accuracy is None else {"accuracy": accuracy}
    if source is not None:
        metrics["accuracy_source"] = source
    return VersionInfo(
        sha256="0" * 64, size_bytes=1, variant=variant, metrics=metrics, accuracy_budget=budget
    )


def repository(tmp_path: Path, versions: dict[str, VersionInfo], name: str = "digits") -> Path:
    manifest = Manifest(
        name=name,
        inputs=[TensorSpec(name="input", datatype="FP32", shape=[-1, 64])],
        outputs=[TensorSpec(name="logits", datatype="FP32", shape=[-1, 10])],
        versions=versions,
    )
    (tmp_path / name).mkdir(parents=True, exist_ok=True)
    write_manifest(tmp_path / name, manifest)
    return tmp_path


def run_gate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = gate.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_variant_within_its_budget_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repository(
        tmp_path, {"1": version("fp32", 0.9822), "2": version("int8-static", 0.9750, budget=0.01)}
    )
    code, out, _ = run_gate(capsys, str(repo))
    assert code == 0
    assert "1 of 1 checks within budget" in out


def test_a_variant_that_lost_more_than_its_budget_fails_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repository(
        tmp_path, {"1": version("fp32", 0.9822), "2": version("int8-dynamic", 0.9500, budget=0.01)}
    )
    code, _, err = run_gate(capsys, str(repo))
    assert code == 1
    assert "FAIL digits v2 (int8-dynamic)" in err


def test_a_drop_exactly_at_the_budget_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repository(
        tmp_path, {"1": version("fp32", 0.9822), "2": version("fp16", 0.9722, budget=0.01)}
    )
    assert run_gate(capsys, str(repo))[0] == 0


def test_a_variant_without_a_budget_is_held_to_the_default_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repository(tmp_path, {"1": version("fp32", 0.98), "2": version("pruned", 0.965)})
    assert run_gate(capsys, str(repo))[0] == 1
    assert run_gate(capsys, str(repo), "--default-budget", "0.02")[0] == 0


def test_variants_are_compared_with_the_latest_fp32_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    versions = {
        "1": version("fp32", 0.90),
        "2": version("fp32", 0.98),
        "3": version("int8-static", 0.95, budget=0.01),
    }
    code, _, err = run_gate(capsys, str(repository(tmp_path, versions)))
    assert code == 1
    assert "below fp32 v2 0.9800" in err


def test_a_conversion_that_lost_accuracy_against_its_source_fails_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repository(tmp_path, {"1": version("fp32", 0.90, budget=0.01, source=0.98)})
    code, _, err = run_gate(capsys, str(repo))
    assert code == 1
    assert "below source 0.9800" in err


def test_a_model_without_an_fp32_accuracy_is_reported_not_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repository(tmp_path, {"1": version("fp32", None), "2": version("int8-static", 0.5)})
    code, out, _ = run_gate(capsys, str(repo))
    assert code == 0
    assert "no fp32 version with accuracy" in out


def test_a_folder_that_does_not_exist_is_refused_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_gate(capsys, str(tmp_path / "nowhere"))
    assert code == 2
    assert "is not a folder" in err


def test_the_committed_model_repository_passes_the_gate_run_from_anywhere() -> None:
    models = PROJECT_ROOT / "models"
    if not any(models.glob("*/manifest.json")):
        pytest.fail("models/ holds no manifest: the default repository is missing")
    result = subprocess.run([sys.executable, str(GATE), str(models)], capture_output=True,
                            text=True, timeout=60, check=False, cwd="/")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checks within budget" in result.stdout


def test_an_embedding_model_is_gated_on_its_group_accuracy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fp32 = VersionInfo(sha256="0" * 64, size_bytes=1, metrics={"group_accuracy": 0.995})
    int8 = VersionInfo(sha256="0" * 64, size_bytes=1, variant="int8-dynamic",
                       metrics={"group_accuracy": 0.90, "cosine_min": 0.99})  # fmt: skip
    code, _, err = run_gate(capsys, str(repository(tmp_path, {"1": fp32, "2": int8})))
    assert code == 1
    assert "group_accuracy 0.9000" in err
