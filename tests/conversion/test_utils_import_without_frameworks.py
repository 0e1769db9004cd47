"""`import utils` and every utils module work with torch, tensorflow, sklearn and statsmodels
absent."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from utils.paths import PROJECT_ROOT

BLOCKED = ("torch", "tensorflow", "keras", "sklearn", "statsmodels")

SCRIPT = textwrap.dedent(
    f"""
    import importlib, pkgutil, sys

    BLOCKED = {BLOCKED!r}

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked: serving code must not import it")
            return None

    sys.meta_path.insert(0, Blocker())
    import utils
    failed = []
    names = ["utils"] + [m.name for m in pkgutil.walk_packages(utils.__path__, "utils.")]
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:
            failed.append(f"{{name}}: {{type(exc).__name__}}: {{exc}}")
    print(len(names), "modules")
    if failed:
        print("\\n".join(failed))
        sys.exit(1)
    """
)


def test_every_utils_module_imports_with_the_frameworks_blocked() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_blocker_really_blocks_a_framework() -> None:
    probe = SCRIPT.replace("import utils\n", "import utils\nimport sklearn\n", 1)
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "sklearn is blocked" in result.stderr
