"""Where the project's own files live, independent of the working directory.

Every TP script must run from its folder, from the repository root and from anywhere
else, so defaults are anchored on this file rather than on ``Path.cwd()``.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT: Path = Path(__file__).resolve().parent.parent
"""The repository root (the folder holding README.md and utils/)."""

DEFAULT_MODEL_REPOSITORY: Path = PROJECT_ROOT / "models"
"""The committed model repository in Triton's layout that both apps serve by default."""

DEMO_SOURCES: Path = PROJECT_ROOT / "TP_ONNX"
"""Where the trained source models of the demo live (model.pkl, digits_cnn.pt, ...)."""

TESTDATA: Path = PROJECT_ROOT / "tests" / "testdata"
"""Golden requests and sample images used by the test-suite."""
