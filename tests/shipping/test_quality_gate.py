"""The CI model-quality gate (deploy/ci/model_quality_gate.py): the comparison logic on
manifests, then the whole gate on real model folders, where it checks every file's sha256
and re-scores each digits classifier with onnxruntime instead of trusting the manifest."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from utils.deployment_helpers.manifest import (
    Manifest,
    TensorSpec,
    VersionInfo,
    read_manifest,
    write_manifest,
)

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


def manifest(versions: dict[str, VersionInfo], name: str = "digits") -> Manifest:
    return Manifest(
        name=name,
        inputs=[TensorSpec(name="input", datatype="FP32", shape=[-1, 64])],
        outputs=[TensorSpec(name="logits", datatype="FP32", shape=[-1, 10])],
        versions=versions,
    )


def compare(versions: dict[str, VersionInfo], default_budget: float = 0.01) -> list:
    results, _ = gate.check_manifest(manifest(versions), default_budget=default_budget)
    return results


def failures(results: list) -> list[str]:
    return [gate.failure_line(r) for r in results if not r.passed]


def run_gate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = gate.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_variant_within_its_budget_passes() -> None:
    results = compare(
        {"1": version("fp32", 0.9822), "2": version("int8-static", 0.9750, budget=0.01)}
    )
    assert [r.passed for r in results] == [True]


def test_a_variant_that_lost_more_than_its_budget_fails_the_gate() -> None:
    results = compare(
        {"1": version("fp32", 0.9822), "2": version("int8-dynamic", 0.9500, budget=0.01)}
    )
    assert any(line.startswith("FAIL digits v2 (int8-dynamic)") for line in failures(results))


def test_a_drop_exactly_at_the_budget_passes() -> None:
    results = compare({"1": version("fp32", 0.9822), "2": version("fp16", 0.9722, budget=0.01)})
    assert all(r.passed for r in results)


def test_a_variant_without_a_budget_is_held_to_the_default_budget() -> None:
    versions = {"1": version("fp32", 0.98), "2": version("pruned", 0.965)}
    assert failures(compare(versions))
    assert not failures(compare(versions, default_budget=0.02))


def test_variants_are_compared_with_the_latest_fp32_version() -> None:
    versions = {
        "1": version("fp32", 0.90),
        "2": version("fp32", 0.98),
        "3": version("int8-static", 0.95, budget=0.01),
    }
    assert any("below fp32 v2 0.9800" in line for line in failures(compare(versions)))


def test_a_conversion_that_lost_accuracy_against_its_source_fails_the_gate() -> None:
    results = compare({"1": version("fp32", 0.90, budget=0.01, source=0.98)})
    assert any("below source 0.9800" in line for line in failures(results))


def test_a_model_without_an_fp32_accuracy_is_reported_not_failed() -> None:
    results, notes = gate.check_manifest(
        manifest({"1": version("fp32", None), "2": version("int8-static", 0.5)}),
        default_budget=0.01,
    )
    assert results == []
    assert any("no fp32 version with accuracy" in note for note in notes)


def test_an_embedding_model_is_gated_on_its_group_accuracy() -> None:
    fp32 = VersionInfo(sha256="0" * 64, size_bytes=1, metrics={"group_accuracy": 0.995})
    int8 = VersionInfo(sha256="0" * 64, size_bytes=1, variant="int8-dynamic",
                       metrics={"group_accuracy": 0.90, "cosine_min": 0.99})  # fmt: skip
    assert any(
        "group_accuracy 0.9000" in line for line in failures(compare({"1": fp32, "2": int8}))
    )


def test_a_re_scored_accuracy_replaces_the_recorded_one_in_the_comparison() -> None:
    versions = {"1": version("fp32", 0.98), "2": version("int8-static", 0.98, budget=0.01)}
    results, _ = gate.check_manifest(manifest(versions), default_budget=0.01, measured={"2": 0.50})
    assert [round(r.accuracy, 2) for r in results] == [0.50]
    assert not results[0].passed


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
                            text=True, timeout=120, check=False, cwd="/")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checks within budget; 0 integrity problem(s)" in result.stdout


# The whole gate on a copy of a committed model folder (real ONNX files).


@pytest.fixture
def torch_repository(tmp_path: Path) -> Path:
    """A copy of models/digits_torch (fp32 v1 + int8 v2), untouched: it passes the gate."""
    source = PROJECT_ROOT / "models" / "digits_torch"
    if not (source / "manifest.json").is_file():
        pytest.fail("models/digits_torch is missing: run `make models`")
    shutil.copytree(source, tmp_path / "digits_torch")
    return tmp_path


def republish(model_dir: Path, number: str) -> None:
    """Record the file's current sha256 and size, as publishing would."""
    loaded = read_manifest(model_dir)
    path = model_dir / number / loaded.versions[number].file
    loaded.versions[number].sha256 = gate.file_sha256(path)
    loaded.versions[number].size_bytes = path.stat().st_size
    write_manifest(model_dir, loaded)


def test_an_untouched_copy_of_a_committed_model_passes(
    torch_repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_gate(capsys, str(torch_repository))
    assert code == 0, out + err
    assert "2 of 2 checks within budget; 0 integrity problem(s)" in out


def test_a_swapped_model_with_wrong_weights_fails_even_with_a_matching_sha256(
    torch_repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir = torch_repository / "digits_torch"
    path = model_dir / "1" / "model.onnx"
    model = onnx.load(str(path))
    rng = np.random.default_rng(0)
    for initializer in model.graph.initializer:
        weights = numpy_helper.to_array(initializer)
        if weights.dtype == np.float32 and weights.size > 1:
            shuffled = rng.permutation(weights.ravel()).reshape(weights.shape)
            initializer.CopyFrom(numpy_helper.from_array(shuffled, initializer.name))
    onnx.checker.check_model(model)  # still a valid ONNX file
    onnx.save(model, str(path))
    republish(model_dir, "1")  # the manifest's numbers stay those of the real model
    claimed = read_manifest(model_dir).version(1).metrics["accuracy"]
    code, _, err = run_gate(capsys, str(torch_repository))
    assert code == 1
    assert "digits_torch v1 (fp32): scores" in err
    assert f"the manifest claims {claimed:.4f}" in err


def test_a_model_file_with_one_tampered_byte_fails_its_sha256_check(
    torch_repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = torch_repository / "digits_torch" / "2" / "model.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    code, _, err = run_gate(capsys, str(torch_repository))
    assert code == 1
    assert "digits_torch v2 (int8-static)" in err
    assert "sha256" in err


def test_a_model_file_that_is_missing_fails_the_gate(
    torch_repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (torch_repository / "digits_torch" / "1" / "model.onnx").unlink()
    code, _, err = run_gate(capsys, str(torch_repository))
    assert code == 1
    assert "is missing" in err
