"""The figures of docs/deployment_guide.md are the committed results' figures.

Its quality-gate sample is the gate's own table for the committed manifests' recorded
numbers (the gate re-scores them; the sample shows what was recorded, CPU-independent).
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from utils.deployment_helpers.manifest import read_manifest
from utils.paths import PROJECT_ROOT

from .figures import assert_quoted

DOC = "docs/deployment_guide.md"
BEGIN, END = "<!-- gate-sample: begin -->", "<!-- gate-sample: end -->"


def _gate() -> ModuleType:
    path = PROJECT_ROOT / "deploy" / "ci" / "model_quality_gate.py"
    spec = importlib.util.spec_from_file_location("model_quality_gate_doc", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def gate_sample() -> str:
    gate = _gate()
    results = []
    for name in ("digits_keras", "digits_sklearn", "digits_torch"):
        found, _ = gate.check_manifest(
            read_manifest(PROJECT_ROOT / "models" / name), default_budget=0.01
        )
        results += found
    footer = [
        "* no accuracy_budget in the manifest: --default-budget 0.01",
        f"quality gate: {len(results)} of {len(results)} checks within budget; 0 integrity "
        "problem(s) (sha256, re-scored accuracy)",
    ]
    body = [gate.format_table(results), *footer]
    return "\n".join(["```console", "$ python deploy/ci/model_quality_gate.py", *body, "```"])


def test_the_gate_sample_is_the_gates_table_of_the_committed_manifests() -> None:
    text = (PROJECT_ROOT / DOC).read_text()
    block = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    expected = gate_sample()
    assert block == expected, f"paste this between the markers of {DOC}:\n{expected}"


def test_the_sizes_are_sizes_json() -> None:
    assert_quoted(DOC, r"The image is therefore ([\d.]+) MB", "deploy/SIZES.json",
                  "image_venv.mb", "{}")  # fmt: skip
    assert_quoted(DOC, r"\n([\d.]+) MB \(recorded with its date", "deploy/SIZES.json",
                  "vercel_function_unzipped.mb", "{}")  # fmt: skip
