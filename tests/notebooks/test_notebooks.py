"""The teaching notebooks run top to bottom, from any folder, in this project's Python.

Each notebook is executed for real with nbclient in a Jupyter kernel (ipykernel's
``python3``, which jupyter_client starts with the interpreter running these tests), from
an empty temporary working directory: a notebook that only works when opened from
``notebooks/`` or that leaves files behind fails here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
# The numbered teaching notebooks; install_sam.ipynb has its own kernel and tests
# (test_install_sam.py) and is committed with its outputs.
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
ALL_NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
KERNEL = "python3"
CELL_TIMEOUT_S = 120


def execute(notebook: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel started in ``cwd``; raises on the first failing cell."""
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(cwd)}},
    )
    return client.execute()


def test_there_are_two_notebooks_to_run() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_convert_and_verify.ipynb",
        "02_compress_and_serve.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_valid_nbformat_4_with_outputs_cleared(path: Path) -> None:
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert code_cells
    assert all(c.outputs == [] and c.execution_count is None for c in code_cells)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.stem)
def test_every_code_cell_is_preceded_by_a_markdown_cell_saying_why(path: Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    for index, cell in enumerate(cells):
        if cell.cell_type == "code":
            before = cells[index - 1] if index else None
            assert before is not None and before.cell_type == "markdown", f"cell {index}"
            assert "**Why:**" in before.source, f"markdown before cell {index} gives no why"


def test_python3_kernel_runs_the_interpreter_of_these_tests(tmp_path: Path) -> None:
    spec = KernelSpecManager().get_kernel_spec(KERNEL)
    assert Path(spec.resource_dir).resolve().is_relative_to(Path(sys.prefix).resolve()), (
        f"kernel {KERNEL!r} comes from {spec.resource_dir}, not from this environment: "
        "a kernel registered elsewhere shadows ipykernel's own"
    )
    probe = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys; print(sys.prefix)")]
    )
    executed = execute(probe, tmp_path)
    printed = executed.cells[0].outputs[0]["text"].strip()
    assert Path(printed).resolve() == Path(sys.prefix).resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_from_a_foreign_folder_and_leaves_it_empty(
    path: Path, tmp_path: Path
) -> None:
    notebook = nbformat.read(path, as_version=4)
    executed = execute(notebook, tmp_path)  # CellExecutionError names the failing cell
    errors = [
        output
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert errors == []
    assert all(c.execution_count is not None for c in executed.cells if c.cell_type == "code")
    assert list(tmp_path.iterdir()) == []
