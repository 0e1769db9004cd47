"""Root fixtures shared by every test folder; each area keeps its own conftest.py."""

from __future__ import annotations

import os

# Quiet and deterministic framework start-up in every test process and subprocess.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
