"""The deployment guides name real files, tests and make targets (so they cannot drift)."""

from __future__ import annotations

import re

import pytest

from .conftest import PROJECT_ROOT

GUIDES = ["docs/deployment_guide.md", "docs/best_practices.md", "docs/troubleshooting.md",
          "deploy/README.md"]  # fmt: skip
_PATH = re.compile(r"`((?:deploy|tests|api|docs|TP_Docker|TP_Flask|\.github)/[\w./-]+)`")
_TEST_FILE = re.compile(r"`(test_\w+\.py)`")
_MAKE = re.compile(r"\bmake ([a-z][a-z-]+)")


@pytest.mark.parametrize("guide", GUIDES)
def test_every_path_the_guide_names_exists(guide: str) -> None:
    text = (PROJECT_ROOT / guide).read_text()
    named = _PATH.findall(text)
    assert named, "the guide names no project file at all"
    assert [p for p in named if not (PROJECT_ROOT / p.rstrip("/")).exists()] == []


@pytest.mark.parametrize("guide", GUIDES)
def test_every_test_file_the_guide_names_exists(guide: str) -> None:
    text = (PROJECT_ROOT / guide).read_text()
    tests = {p.name for p in (PROJECT_ROOT / "tests").rglob("test_*.py")}
    assert sorted(set(_TEST_FILE.findall(text)) - tests) == []


@pytest.mark.parametrize("guide", GUIDES)
def test_every_make_target_the_guide_names_exists(guide: str) -> None:
    text = (PROJECT_ROOT / guide).read_text()
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-zA-Z_-]+):", makefile, flags=re.M))
    assert sorted(set(_MAKE.findall(text)) - targets) == []
