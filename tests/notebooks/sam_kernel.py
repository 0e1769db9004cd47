"""Run notebooks/install_sam.ipynb in its own Jupyter kernel, ``sam`` (``.venv-sam``).

Segment Anything cannot live in the project's venv (its torch 2.13.0 CPU build imports no
torchvision from PyPI), so the notebook runs in the kernel that ``make sam-env`` creates
and registers inside ``.venv-sam/share/jupyter/kernels``. Only that folder is searched
here: a ``sam`` kernel registered by another checkout of the project, in the user's
Jupyter folder, cannot be picked up by mistake.

Used by ``tests/notebooks/test_install_sam.py`` and, with ``--update-reference``, by
``make sam-reference``, which executes the committed notebook in place (it is committed
with its outputs) and rewrites ``notebooks/results/install_sam.json``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "install_sam.ipynb"
REFERENCE = ROOT / "notebooks" / "results" / "install_sam.json"
SAM_VENV = ROOT / ".venv-sam"
KERNEL = "sam"
CELL_TIMEOUT_S = 600


def ensure_sam_env() -> None:
    """``make sam-env``: builds ``.venv-sam`` and its kernel when missing (~5 min from
    nothing), otherwise only re-registers the kernel (~3 s)."""
    subprocess.run(["make", "--no-print-directory", "sam-env"], cwd=ROOT, check=True)


def sam_kernel_manager() -> KernelManager:
    """A kernel manager that knows only the ``sam`` kernel of this checkout's env."""
    specs = KernelSpecManager(kernel_dirs=[str(SAM_VENV / "share" / "jupyter" / "kernels")])
    return KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)


def execute(
    notebook: nbformat.NotebookNode, cwd: Path, env: Mapping[str, str] | None = None
) -> nbformat.NotebookNode:
    """Run every cell in a fresh ``sam`` kernel started in ``cwd`` with ``env`` added to
    this process's environment; raises ``CellExecutionError`` on the first failing cell."""
    client = NotebookClient(
        notebook,
        km=sam_kernel_manager(),
        timeout=CELL_TIMEOUT_S,
        record_timing=False,  # no per-cell timestamps in the committed file
        resources={"metadata": {"path": str(cwd)}},
    )
    return client.execute(env={**os.environ, **(env or {})})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--update-reference",
        action="store_true",
        help="execute the committed notebook in place and rewrite its committed results "
        f"({REFERENCE.relative_to(ROOT)}); without it, write an executed copy to out/",
    )
    args = parser.parse_args()
    ensure_sam_env()
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    started = time.perf_counter()
    env = {"SAM_UPDATE_REFERENCE": "1"} if args.update_reference else {}
    executed = execute(notebook, NOTEBOOK.parent, env)
    target = NOTEBOOK if args.update_reference else ROOT / "out" / "install_sam" / NOTEBOOK.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(executed, target)
    print(f"executed in {time.perf_counter() - started:.0f} s -> {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
