"""deploy/SIZES.json: the sizes the docs quote, as the slow tests last measured them.

The image-recipe and Vercel tests measure the real artefacts (the image's venv, the
function's unzipped bundle) and record them here with the date, so a number in
docs/best_practices.md always points at a committed measurement instead of a memory.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

SIZES_FILE = Path(__file__).resolve().parents[2] / "deploy" / "SIZES.json"


def record_size(name: str, size_bytes: int, *, measured_by: str, note: str) -> None:
    """Merge one measurement into deploy/SIZES.json (other entries are kept)."""
    sizes = json.loads(SIZES_FILE.read_text()) if SIZES_FILE.is_file() else {}
    sizes[name] = {
        "bytes": size_bytes,
        "mb": round(size_bytes / 1e6, 1),
        "measured_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "measured_by": measured_by,
        "what": note,
    }
    SIZES_FILE.write_text(json.dumps(dict(sorted(sizes.items())), indent=2) + "\n")
