"""A student's walk with their own models, from a saved file to the quality gate.

scikit-learn (a pickled pipeline on iris), PyTorch (a wine MLP saved with torch.save, and
as a state_dict) and Keras (a breast-cancer network): converted with targets, published,
compressed with their own data, gated; then one version is degraded on purpose.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from utils.deployment_helpers.manifest import read_manifest
from utils.io import sha256_file
from utils.paths import PROJECT_ROOT

from .conftest import CONVERT, GATE, QUANTIZE, Compressed, Published, Student, run

# Trains three models and runs ~15 real conversions and compressions (~3 min here).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def test_each_model_records_its_accuracy_on_the_students_rows(
    student_repository: Published,
) -> None:
    repository, _ = student_repository
    for name in ("iris_forest", "wine_mlp", "cancer_keras"):
        metrics = read_manifest(repository / name).versions["1"].metrics
        assert metrics["accuracy"] >= 0.85, (name, metrics)
        assert metrics["accuracy"] == metrics["accuracy_source"], name


def test_the_csv_header_names_the_features_of_a_tabular_model(
    student_repository: Published,
) -> None:
    manifest = read_manifest(student_repository[0] / "iris_forest")
    assert manifest.preprocessing.kind == "tabular"
    assert manifest.preprocessing.feature_names[0] == "sepal length (cm)"
    assert len(manifest.preprocessing.feature_names) == 4


def test_the_evaluation_rows_are_kept_beside_the_model_with_their_sha256(
    student_repository: Published,
) -> None:
    model_dir = student_repository[0] / "wine_mlp"
    record = read_manifest(model_dir).versions["1"].evaluation
    assert record is not None and record.samples == 54
    assert sha256_file(model_dir / record.file) == record.sha256


def test_a_reference_profile_with_feature_names_is_stored_for_drift(
    student_repository: Published,
) -> None:
    profile = read_manifest(student_repository[0] / "iris_forest").reference_profile
    assert profile is not None
    assert profile["features"] == 4
    assert profile["feature_names"][3] == "petal width (cm)"


def test_the_standardization_is_folded_into_the_torch_graph_and_recorded(
    student: Student, student_repository: Published
) -> None:
    import onnxruntime as ort

    manifest = read_manifest(student_repository[0] / "wine_mlp")
    assert manifest.preprocessing.standardization is not None
    assert manifest.preprocessing.standardization.in_graph
    session = ort.InferenceSession(str(student_repository[0] / "wine_mlp" / "1" / "model.onnx"))
    raw = np.load(student.wine_test_x)
    logits = session.run(None, {"input": raw})[0]
    assert (logits.argmax(axis=1) == np.load(student.wine_test_y)).mean() >= 0.9


def test_a_state_dict_converts_with_its_model_class(student: Student, tmp_path: Path) -> None:
    done = run(
        CONVERT, "--input", student.torch_state_dict, "--output", tmp_path / "m.onnx",
        "--model-class", "student_mlp:MLP", "--model-args", "[13, 3]",
        "--samples", student.wine_test_x, "--targets", student.wine_test_y,
        "--standardize", student.torch_scaler, cwd=student.folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "accuracy 1.0000" in done.stdout or "accuracy 0.9" in done.stdout


def test_a_state_dict_without_its_class_is_refused_with_the_option_to_pass(
    student: Student, tmp_path: Path
) -> None:
    done = run(
        CONVERT, "--input", student.torch_state_dict, "--output", tmp_path / "m.onnx",
        "--samples", student.wine_test_x, cwd=student.folder,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--model-class" in done.stderr


def test_a_whole_pickled_module_is_loaded_only_after_the_trust_warning(
    student_repository: Published,
) -> None:
    stderr = student_repository[1]["wine_mlp"].stderr
    assert "is a pickle: loading it runs code" in stderr


def test_a_network_given_raw_features_without_its_scaler_is_warned_about(
    student: Student, tmp_path: Path
) -> None:
    done = run(
        CONVERT, "--input", student.torch_full, "--output", tmp_path / "m.onnx",
        "--samples", student.wine_test_x, "--targets", student.wine_test_y,
        "--atol", "1e-2", cwd=student.folder,
    )  # fmt: skip
    assert "probably trained on standardised features" in done.stderr


def test_a_network_trained_on_raw_features_gets_no_scaling_warning(tmp_path: Path) -> None:
    """The digits CNN was trained on raw pixels in [0, 1]: standardising them only hurts."""
    done = run(
        CONVERT, "--input", PROJECT_ROOT / "TP_ONNX" / "digits_cnn.pt2",
        "--output", tmp_path / "m.onnx", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "accuracy 0.9" in done.stdout  # scored on the digits split, so the check ran
    assert "standardised" not in done.stderr


def test_class_names_that_do_not_match_the_output_width_are_refused(
    student: Student, tmp_path: Path
) -> None:
    done = run(
        CONVERT, "--input", student.keras_model, "--output", tmp_path / "m.onnx",
        "--samples", student.cancer_test, "--labels", "a,b,c",
        "--standardize", student.keras_scaler, cwd=student.folder,
    )  # fmt: skip
    assert done.returncode == 2
    assert "outputs 2 classes" in done.stderr


def test_a_targets_file_given_as_labels_is_refused(student: Student, tmp_path: Path) -> None:
    done = run(
        CONVERT, "--input", student.keras_model, "--output", tmp_path / "m.onnx",
        "--samples", student.wine_test_x, "--labels", student.wine_test_y, cwd=student.folder,
    )  # fmt: skip
    assert done.returncode == 2
    assert "targets go to --targets" in done.stderr


def test_the_students_repository_passes_the_quality_gate(student_repository: Published) -> None:
    done = run(GATE, student_repository[0], cwd=student_repository[0])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 of 3 checks within budget; 0 integrity problem(s)" in done.stdout


def test_auto_compresses_the_torch_model_with_its_own_calibration_rows_and_passes_the_gate(
    student: Student, compressed: Compressed
) -> None:
    assert "Scored on recorded evaluation data" in compressed.auto["wine_mlp"].stdout
    manifest = read_manifest(compressed.repository / "wine_mlp")
    assert manifest.versions["2"].evaluation == manifest.versions["1"].evaluation
    gate = run(GATE, compressed.repository, cwd=student.folder)
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert re.search(r"^wine_mlp\s+2\s+\S+\s+accuracy.*ok$", gate.stdout, re.MULTILINE)


def test_dynamic_int8_of_the_keras_model_reports_its_accuracy(
    student_repository: Published, tmp_path: Path
) -> None:
    source = student_repository[0] / "cancer_keras" / "1" / "model.onnx"
    done = run(QUANTIZE, "dynamic", source, tmp_path / "int8.onnx", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "accuracy 0.9" in done.stdout and "on recorded evaluation data" in done.stdout


def test_evaluate_scores_a_file_on_the_students_csv(
    student: Student, student_repository: Published
) -> None:
    model = student_repository[0] / "iris_forest" / "1" / "model.onnx"
    done = run(
        QUANTIZE, "evaluate", model, "--data", student.iris_test, "--target-column", "species",
        cwd=student.folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["accuracy"] >= 0.9


def degrade(model_dir: Path, number: str) -> None:
    """Publish a copy of version ``number`` with noisy weights as the next version, its
    metrics measured honestly (so only the budget can stop it)."""
    from utils.compression.publish import publish_variant
    from utils.evaluation.scoring import scorer_for

    model = onnx.load(str(model_dir / number / "model.onnx"))
    rng = np.random.default_rng(0)
    for initializer in model.graph.initializer:
        weights = numpy_helper.to_array(initializer)
        if weights.dtype == np.float32 and weights.ndim == 2:
            noisy = weights + rng.normal(0, 1.0, weights.shape).astype(np.float32)
            initializer.CopyFrom(numpy_helper.from_array(noisy, initializer.name))
    path = model_dir.parent / "degraded.onnx"
    onnx.save(model, str(path))
    manifest = read_manifest(model_dir)
    scorer = scorer_for(path, manifest=manifest, folder=model_dir, version=number)
    assert scorer is not None
    publish_variant(
        path,
        model_dir.parent,
        model_dir.name,
        variant="int8-static",
        metrics=scorer.metrics(path),
        accuracy_budget=0.01,
        evaluation=manifest.versions[number].evaluation,
    )


def test_a_degraded_version_fails_the_gate_saying_which_and_why(
    student: Student, repository_copy: Path
) -> None:
    degrade(repository_copy / "wine_mlp", "1")
    done = run(GATE, repository_copy, cwd=student.folder)
    assert done.returncode == 1
    assert "FAIL wine_mlp v2 (int8-static): accuracy" in done.stderr


def test_a_repository_without_metrics_fails_the_gate_because_nothing_was_checked(
    student: Student, tmp_path: Path
) -> None:
    repository, rows = tmp_path / "models", tmp_path / "rows.npy"
    np.save(rows, np.load(student.cancer_test)["x"])  # inputs only, no targets
    done = run(
        CONVERT, "--input", student.keras_model, "--output", tmp_path / "m.onnx",
        "--samples", rows, "--standardize", student.keras_scaler,
        "--repository", repository, "--name", "no_targets", cwd=student.folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    gate = run(GATE, repository, cwd=tmp_path)
    assert gate.returncode == 1, gate.stdout
    assert "nothing was checked" in gate.stderr
