"""deploy/SIZES.json: the sizes the docs quote, as the slow tests last measured them.

The image-recipe and Vercel tests measure the real artefacts (the image's venv, the
function's unzipped bundle) and record them with the date, so a number in
docs/best_practices.md always points at a committed measurement instead of a memory. A
test run writes out/deploy/SIZES.json; only `make sizes-update-reference`
(UPDATE_REFERENCE=1) rewrites the committed deploy/SIZES.json.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from utils.results import results_path, update_reference_from_env

SIZES_FILE = Path(__file__).resolve().parents[2] / "deploy" / "SIZES.json"


def record_size(name: str, size_bytes: int, *, measured_by: str, note: str) -> None:
    """Merge one measurement into out/deploy/SIZES.json, or deploy/SIZES.json with
    UPDATE_REFERENCE=1 (other entries are kept)."""
    target = results_path(SIZES_FILE, update_reference=update_reference_from_env())
    source = target if target.is_file() else SIZES_FILE
    sizes = json.loads(source.read_text()) if source.is_file() else {}
    sizes[name] = {
        "bytes": size_bytes,
        "mb": round(size_bytes / 1e6, 1),
        "measured_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "measured_by": measured_by,
        "what": note,
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(dict(sorted(sizes.items())), indent=2) + "\n")
