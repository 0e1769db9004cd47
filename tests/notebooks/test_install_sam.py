"""notebooks/install_sam.ipynb: Segment Anything exported, checked, quantized and prompted.

The notebook runs in its own kernel (``sam``, from ``.venv-sam``: see ``sam_kernel.py``).
The quick tests read the committed files (the notebook is committed executed, with its
outputs, beside its results JSON); the slow ones execute it for real with nbclient from an
empty folder, creating the environment with ``make sam-env`` when it is missing, and check
the ONNX files it writes with this venv's onnx and onnxruntime.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.notebooks.sam_kernel import NOTEBOOK, REFERENCE, ROOT, ensure_sam_env, execute
from utils.deployment_helpers.manifest import read_manifest

README = ROOT / "notebooks" / "README.md"
SAM_REQUIREMENTS = ROOT / "notebooks" / "requirements-sam.txt"
DECODER_CONTRACT = {  # segment_anything/utils/onnx.py SamOnnxModel, as SAM's export script
    "image_embeddings": [1, 256, 64, 64],
    "point_coords": [1, "num_points", 2],
    "point_labels": [1, "num_points"],
    "mask_input": [1, 1, 256, 256],
    "has_mask_input": [1],
    "orig_im_size": [2],
}


def slow(test: Callable[..., None]) -> Callable[..., None]:
    """Marks a test slow, with room to build the environment first (`make sam-env`: ~5 min
    from nothing here, more on a busy runner) and run the notebook (~2 min): whichever slow
    test comes first pays for both."""
    return pytest.mark.slow(pytest.mark.timeout(2700)(test))


def committed_results() -> dict[str, Any]:
    return json.loads(REFERENCE.read_text())


def outputs(notebook: nbformat.NotebookNode, output_type: str) -> list[Any]:
    return [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == output_type
    ]


def printed(notebook: nbformat.NotebookNode) -> str:
    return "".join(o.text for o in outputs(notebook, "stream") if o.name == "stdout")


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        requirement = line.split("#")[0].strip()
        if "==" in requirement and not requirement.startswith("-"):
            name, version = requirement.split("==")
            found[name.split("[")[0].lower()] = version
    return found


def readme_lines(results: dict[str, Any]) -> list[str]:
    """The README lines that quote the results, formatted from the results file."""
    size, lat = results["size_bytes"], results["latency_ms"]
    fp32, int8 = results["parity"]["fp32"], results["parity"]["int8"]
    names = {"image_encoder": "image encoder", "mask_decoder": "prompt encoder + mask decoder"}
    rows = [
        f"| {names[part]} | {size[part]['fp32'] / 1e6:.2f} MB | "
        f"{size[part]['int8'] / 1e6:.2f} MB ({size[part]['int8'] / size[part]['fp32']:.0%}) | "
        f"{max(fp32[part].values()):.1e} | {max(int8[part].values()):.1e} | "
        f"{lat[part]['fp32']['p50']:.0f} ms | {lat[part]['int8']['p50']:.0f} ms |"
        for part in names
    ]
    parity, seg = results["parity"], results["segmentation"]
    return [
        *rows,
        f"cosine {parity['int8_embedding_cosine']:.4f} to fp32",
        f"overlap at IoU {parity['int8_decoder_mask_iou']:.3f}",
        f"`QInt8` weights only IoU {parity['qint8_decoder_mask_iou']:.3f}",
        f"IoU {seg['mask_iou']['onnx_fp32_vs_torch']:.3f} with torch's `SamPredictor`",
        f"int8 mask IoU {seg['mask_iou']['onnx_int8_vs_onnx_fp32']:.3f} with the fp32 one",
        f"in-process one (IoU {results['served']['mask_iou_vs_in_process_int8']:.3f})",
        f"torch's by up to {parity['upstream_decoder_masks']:.2f}",
        f"ran in {results['execution_s']:.0f} s",
    ]


# ---- the committed files (quick) ----------------------------------------------------


def test_the_notebook_asks_for_the_sam_kernel() -> None:
    kernelspec = nbformat.read(NOTEBOOK, as_version=4).metadata.kernelspec
    assert kernelspec.name == "sam"


def test_the_sam_environment_pins_torch_and_torchvision_that_import_together() -> None:
    wanted = pins(SAM_REQUIREMENTS)
    assert wanted["torch"] == "2.14.1"
    assert wanted["torchvision"] == "0.29.1"
    assert wanted["segment-anything"] == "1.0"


def test_the_sam_environment_shares_the_projects_pins() -> None:
    project = pins(ROOT / "requirements.txt") | pins(ROOT / "requirements-convert.txt")
    own = {"torch"}  # the one pin that differs, on purpose: 2.14.1 brings a torchvision
    shared = {n: v for n, v in pins(SAM_REQUIREMENTS).items() if n in project and n not in own}
    assert {"onnx", "onnxruntime", "numpy"} <= shared.keys()
    assert shared == {name: project[name] for name in shared}


def test_the_committed_notebook_ran_to_the_end_and_drew_the_mask() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code_cells)
    assert outputs(notebook, "error") == []
    figures = [o for o in outputs(notebook, "display_data") if "image/jpeg" in o.data]
    assert len(figures) == 1


def test_the_committed_notebook_and_results_come_from_the_same_run() -> None:
    results = committed_results()
    text = printed(nbformat.read(NOTEBOOK, as_version=4))
    assert f"notebook executed in {results['execution_s']:.0f} s" in text
    fingerprint = results["model"]["weights_fingerprint"]
    assert f"weights fingerprint (sum of |w|): {fingerprint:.6f}" in text


def test_the_readme_quotes_the_committed_results() -> None:
    readme = " ".join(README.read_text().split())  # prose may wrap anywhere
    missing = [line for line in readme_lines(committed_results()) if line not in readme]
    assert missing == []


def test_outside_its_environment_the_notebook_stops_and_says_make_sam_env(
    tmp_path: Path,
) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells = [next(c for c in notebook.cells if c.cell_type == "code")]
    client = NotebookClient(  # the project's own venv: torch 2.13.0, no segment_anything
        notebook, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}}
    )
    with pytest.raises(CellExecutionError) as stopped:
        client.execute()
    assert "not the SAM environment" in str(stopped.value)
    assert "make sam-env" in str(stopped.value)


# ---- executed for real in the sam kernel (slow) -------------------------------------


@pytest.fixture(scope="module")
def sam_env() -> None:
    ensure_sam_env()


@pytest.fixture(scope="module")
def run(sam_env: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One execution from an empty folder, writing to its own output folder."""
    cwd, out = tmp_path_factory.mktemp("cwd"), tmp_path_factory.mktemp("out")
    executed = execute(nbformat.read(NOTEBOOK, as_version=4), cwd, {"SAM_OUT": str(out)})
    results = json.loads((out / "install_sam.json").read_text())
    return {"notebook": executed, "cwd": cwd, "out": out, "results": results}


@slow
def test_the_notebook_runs_top_to_bottom_in_its_kernel_and_leaves_the_folder_empty(
    run: dict[str, Any],
) -> None:
    assert outputs(run["notebook"], "error") == []
    assert list(run["cwd"].iterdir()) == []


@slow
def test_without_a_checkpoint_it_says_the_weights_are_random(run: dict[str, Any]) -> None:
    assert "NO CHECKPOINT: SAM is built with RANDOM weights" in printed(run["notebook"])
    assert run["results"]["model"]["source"].startswith("random weights")


@slow
def test_the_decoder_file_has_the_official_export_contract(run: dict[str, Any]) -> None:
    graph = onnx.load(run["out"] / "prompt_encoder_mask_decoder.onnx").graph
    inputs = {
        i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
        for i in graph.input
    }
    assert list(inputs.items()) == list(DECODER_CONTRACT.items())
    assert [o.name for o in graph.output] == ["masks", "iou_predictions", "low_res_masks"]


@slow
def test_both_fp32_parts_match_torch_within_atol(run: dict[str, Any]) -> None:
    parity = run["results"]["parity"]
    diffs = {
        (part, name): diff
        for part, by_name in parity["fp32"].items()
        for name, diff in by_name.items()
    }
    assert len(diffs) == 4
    assert all(diff <= parity["atol"] <= 1e-4 for diff in diffs.values()), diffs


@slow
def test_both_int8_parts_are_smaller_files(run: dict[str, Any]) -> None:
    out = run["out"]
    for stem in ("image_encoder", "prompt_encoder_mask_decoder"):
        fp32, int8 = out / f"{stem}.onnx", out / f"{stem}.int8.onnx"
        assert int8.stat().st_size < 0.6 * fp32.stat().st_size, stem


@slow
def test_the_int8_parts_keep_the_answer(run: dict[str, Any]) -> None:
    parity = run["results"]["parity"]
    assert parity["int8_embedding_cosine"] > 0.99
    assert parity["int8_decoder_mask_iou"] > 0.9


@slow
def test_a_click_gives_a_mask_at_the_pictures_size_equal_to_torchs(run: dict[str, Any]) -> None:
    segmentation = run["results"]["segmentation"]
    assert 0.0 < segmentation["mask_fraction"]["fp32"] < 1.0
    assert segmentation["mask_iou"]["onnx_fp32_vs_torch"] > 0.99
    assert "fp32  mask (480, 640)" in printed(run["notebook"])


@slow
def test_the_exported_files_run_in_the_projects_onnxruntime(run: dict[str, Any]) -> None:
    """The serving side has no torch and no SAM: the two files alone must answer."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    encoder, decoder = (
        ort.InferenceSession(str(run["out"] / name), options, providers=["CPUExecutionProvider"])
        for name in ("image_encoder.int8.onnx", "prompt_encoder_mask_decoder.int8.onnx")
    )
    picture = np.random.default_rng(0).uniform(0, 255, (1, 3, 576, 1024)).astype(np.float32)
    (embeddings,) = encoder.run(None, {"image": picture})
    masks, scores, low_res = decoder.run(
        None,
        {
            "image_embeddings": embeddings,
            "point_coords": np.array([[[500.0, 300.0], [0.0, 0.0]]], np.float32),
            "point_labels": np.array([[1.0, -1.0]], np.float32),
            "mask_input": np.zeros((1, 1, 256, 256), np.float32),
            "has_mask_input": np.zeros(1, np.float32),
            "orig_im_size": np.array([360.0, 640.0], np.float32),
        },
    )
    assert embeddings.shape == (1, 256, 64, 64)
    assert masks.shape == (1, 1, 360, 640)
    assert scores.shape == (1, 1) and low_res.shape == (1, 1, 256, 256)


@slow
def test_both_parts_are_published_as_fp32_and_int8_versions_of_a_repository(
    run: dict[str, Any],
) -> None:
    repository = run["out"] / "repository"
    for name in ("sam_image_encoder", "sam_mask_decoder"):
        manifest = read_manifest(repository / name)
        variants = {number: info.variant for number, info in manifest.versions.items()}
        assert variants == {"1": "fp32", "2": "int8-dynamic"}
        assert manifest.batching.max_batch_size == 0  # SAM's tensors have no batch dimension


@slow
def test_the_projects_server_answers_a_click_over_v2_with_the_in_process_mask(
    run: dict[str, Any],
) -> None:
    assert run["results"]["served"]["mask_iou_vs_in_process_int8"] == pytest.approx(1.0)
    assert '"name": "orig_im_size", "datatype": "FP32", "shape": [2]' in printed(run["notebook"])


@slow
def test_a_checkpoint_path_is_loaded_instead_of_random_weights(
    run: dict[str, Any], tmp_path: Path
) -> None:
    import torch  # the project's torch reads and writes the same state-dict files

    state = torch.load(run["out"] / "sam_tiny_random.pth")
    halved = {k: v * 0.5 if v.is_floating_point() else v for k, v in state.items()}
    checkpoint = tmp_path / "halved.pth"
    torch.save(halved, checkpoint)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    build = next(i for i, c in enumerate(notebook.cells) if "build" in c.metadata.get("tags", []))
    notebook.cells = notebook.cells[: build + 1]
    env = {"SAM_CHECKPOINT": str(checkpoint), "SAM_MODEL_TYPE": "tiny", "SAM_OUT": str(tmp_path)}
    text = printed(execute(notebook, tmp_path, env))
    assert f"Loaded SAM tiny weights from {checkpoint}" in text
    fingerprint = float(re.search(r"weights fingerprint \(sum of \|w\|\): (\S+)", text)[1])
    random_fingerprint = run["results"]["model"]["weights_fingerprint"]
    assert fingerprint == pytest.approx(0.5 * random_fingerprint, rel=1e-6)


@slow
def test_the_notebook_runs_in_minutes_not_tens_of_minutes(run: dict[str, Any]) -> None:
    assert run["results"]["execution_s"] < 600  # ~2 min on a busy 2-core machine
