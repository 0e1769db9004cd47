"""The walk's figures, one block per framework, ready for a closing note.

    .venv/bin/python -m pytest tests/student_models/test_summary.py -s

prints, for the scikit-learn, PyTorch and Keras model: the accuracy of v1 (recorded at
conversion and measured through the served API), the best int8 candidate and the variant
``auto`` published, the sizes, the quality gate's verdict, and what both apps answer for
the student's first row. The same figures go to ``out/student_walk.json``. The test fails
when the figures disagree with each other (the served accuracy is not the recorded one,
the page answers otherwise than the API, the gate refuses a version).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from tp_docker.tp_docker_server import LiveServer

from utils.deployment_helpers.manifest import Manifest, read_manifest
from utils.paths import PROJECT_ROOT

from .conftest import GATE, Compressed, Student, run
from .walk import FRAMEWORKS, student_rows

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

RESULTS = PROJECT_ROOT / "out" / "student_walk.json"


def _served_accuracy(url: str, name: str, version: int, x: np.ndarray, y: np.ndarray) -> float:
    batch = 64
    classes = []
    for start in range(0, len(x), batch):
        body = {"model": name, "version": version, "inputs": x[start : start + batch].tolist()}
        classes += [p["index"] for p in httpx.post(url, json=body).json()["predictions"]]
    return float((np.asarray(classes) == y).mean())


def _best_int8(manifest: Manifest) -> dict[str, Any] | None:
    """The most accurate int8 recipe ``auto`` measured (smallest among equals)."""
    versions = [v for v in manifest.versions.values() if v.details.get("candidates")]
    candidates = [
        c
        for v in versions
        for c in v.details["candidates"]
        if c["recipe"].startswith("int8") and c.get("metric") is not None
    ]
    return max(candidates, key=lambda c: (c["metric"], -c["size_bytes"]), default=None)


def _why_no_int8(auto_said: str) -> dict[str, Any] | None:
    """What ``auto`` said when no int8 recipe could run (a tree ensemble has no weights)."""
    reason = re.search(r"has no [^|]* to quantize[^|]*", auto_said)
    return {"recipe": None, "note": reason.group(0).strip()} if reason else None


def _answer(url: str, name: str, version: int, row: list[float]) -> str:
    answer = httpx.post(url, json={"model": name, "version": version, "inputs": [row]}).json()
    first = answer["predictions"][0]
    return f"{first['label']} ({first['probabilities'][first['index']]:.1%})"


def _gate_rows(stdout: str, name: str) -> list[str]:
    return [line for line in stdout.splitlines() if re.match(rf"{name}\s+\d", line)]


def test_the_walk_of_each_framework_ends_served_gated_and_printed(
    api: LiveServer, page_url: str, compressed: Compressed, student: Student
) -> None:
    gate = run(GATE, compressed.repository, cwd=student.folder)
    walk: dict[str, dict[str, Any]] = {}
    for name, framework in FRAMEWORKS.items():
        folder = compressed.repository / name
        manifest = read_manifest(folder)
        x, y = student_rows(compressed.repository, name)
        v1 = manifest.versions["1"]
        compressed_version = manifest.versions.get("2")
        versions = [1, 2] if compressed_version else [1]
        auto_said = compressed.auto[name].stdout + compressed.auto[name].stderr
        walk[framework] = {
            "model": name,
            "rows": len(x),
            "accuracy_v1": v1.metrics["accuracy"],
            "accuracy_source": v1.metrics["accuracy_source"],
            "size_bytes_v1": v1.size_bytes,
            "best_int8": _best_int8(manifest) or _why_no_int8(auto_said),
            "published": (
                {
                    "variant": compressed_version.variant,
                    "accuracy": compressed_version.metrics["accuracy"],
                    "size_bytes": compressed_version.size_bytes,
                }
                if compressed_version
                else {"none": auto_said.strip().splitlines()[-1]}
            ),
            "served_accuracy": {
                v: _served_accuracy(f"{api.url}/predict", name, v, x, y) for v in versions
            },
            "gate": _gate_rows(gate.stdout, name),
            "api_answer_first_row": {
                v: _answer(f"{api.url}/predict", name, v, x[0].tolist()) for v in versions
            },
            "page_answer_first_row": {
                v: _answer(f"{page_url}/api/predict", name, v, x[0].tolist()) for v in versions
            },
        }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(walk, indent=2, default=str))
    print("\n" + _report(walk, gate.stdout.strip().splitlines()[-1], RESULTS))
    assert gate.returncode == 0, gate.stdout + gate.stderr
    for figures in walk.values():
        assert figures["served_accuracy"][1] == pytest.approx(figures["accuracy_v1"])
        assert figures["page_answer_first_row"] == figures["api_answer_first_row"]


def _report(walk: dict[str, dict[str, Any]], verdict: str, results: Path) -> str:
    lines = ["== the student's walk, per framework =="]
    for framework, f in walk.items():
        published = f["published"]
        lines += [
            f"{framework}: {f['model']} ({f['rows']} of the student's test rows)",
            f"  v1 fp32      accuracy {f['accuracy_v1']:.4f} (source model "
            f"{f['accuracy_source']:.4f}), {f['size_bytes_v1']} bytes",
            f"  best int8    {_int8_line(f['best_int8'])}",
            "  published v2 "
            + (
                f"{published['variant']}: accuracy {published['accuracy']:.4f}, "
                f"{published['size_bytes']} bytes"
                if "variant" in published
                else f"nothing: {published['none']}"
            ),
            "  served       "
            + ", ".join(f"v{v} accuracy {a:.4f}" for v, a in f["served_accuracy"].items())
            + "; first row: "
            + ", ".join(f"v{v} {a}" for v, a in f["api_answer_first_row"].items())
            + " (API = page)",
            *(f"  gate         {row}" for row in f["gate"]),
        ]
    lines += [verdict, f"figures written to {results}"]
    return "\n".join(lines)


def _int8_line(int8: dict[str, Any] | None) -> str:
    if int8 is None:
        return "none measured"
    if int8["recipe"] is None:
        return f"none: {int8['note']}"
    note = f" ({int8['note']})" if int8.get("note") else ""
    return f"{int8['recipe']}: accuracy {int8['metric']:.4f}, {int8['size_bytes']} bytes{note}"
