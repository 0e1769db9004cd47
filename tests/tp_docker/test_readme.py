"""TP_Docker/README.md documents every setting the server reads, with its real default."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from TP_Docker.settings import Settings
from utils.paths import PROJECT_ROOT

_ROW = re.compile(r"^\| `(API_[A-Z0-9_]+)` \| `([^`]*)` \|", re.MULTILINE)


def _table() -> dict[str, str]:
    readme = (PROJECT_ROOT / "TP_Docker" / "README.md").read_text()
    return dict(_ROW.findall(readme))


def _as_written(default: Any) -> str:
    """How the table writes a default: the words a reader would type, not Python's repr."""
    if default is None:
        return "(unset)"
    if default == "":
        return "(empty)"
    if isinstance(default, Path):
        return f"{default.relative_to(PROJECT_ROOT)}/ (the committed repository)"
    return str(default)


def test_the_readme_settings_table_lists_every_setting() -> None:
    table = _table()
    missing = [
        f"API_{name.upper()}"
        for name in Settings.model_fields
        if f"API_{name.upper()}" not in table
    ]
    assert missing == []


def test_the_readme_settings_table_lists_no_setting_the_server_does_not_read() -> None:
    known = {f"API_{name.upper()}" for name in Settings.model_fields}
    assert sorted(set(_table()) - known) == []


def test_every_default_in_the_readme_table_is_the_settings_default() -> None:
    table = _table()
    wrong = {
        f"API_{name.upper()}": (table.get(f"API_{name.upper()}"), _as_written(field.default))
        for name, field in Settings.model_fields.items()
        if table.get(f"API_{name.upper()}") != _as_written(field.default)
    }
    assert wrong == {}, "README default vs Settings default"
