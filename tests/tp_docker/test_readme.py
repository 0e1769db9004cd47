"""TP_Docker/README.md documents every setting the server reads."""

from __future__ import annotations

from TP_Docker.settings import Settings
from utils.paths import PROJECT_ROOT


def test_the_readme_settings_table_lists_every_setting() -> None:
    readme = (PROJECT_ROOT / "TP_Docker" / "README.md").read_text()
    missing = [
        f"API_{name.upper()}"
        for name in Settings.model_fields
        if f"`API_{name.upper()}`" not in readme
    ]
    assert missing == []
