"""All-or-nothing writes: a failed write leaves the target as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from utils.io import atomic_path, write_atomic


def test_atomic_write_replaces_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"


def test_a_failure_inside_atomic_path_leaves_the_target_untouched_and_no_temp_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_atomic_path_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "missing" / "f.bin"):
        pass
