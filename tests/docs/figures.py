"""Hold a figure quoted in a document to the committed results file it comes from.

A measured number in a README or a guide (an accuracy, a speed-up, a size, a latency) is
only worth quoting if it is the one the results file records; when an experiment is re-run
with ``--update-reference`` and the number moves, the text must move with it. Each doc has
one test module that calls :func:`assert_quoted` once per figure:

    assert_quoted(
        README, r"bare FastAPI endpoint it is ([\\d.]+)x faster",
        "TP_Docker/benchmarks/bench_serve.json", "targets.ratio_vs_bare_fastapi.value",
        "{:.2f}",
    )

Settings stated in a doc (a 3 s timeout, a 512 MB budget) are configuration, not
measurements: they are held to their config files by the tests of those files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from utils.paths import PROJECT_ROOT

Format = str | Callable[[Any], str]

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]|\[([^\]]+)\]")


@cache
def _load(results_file: str) -> Any:
    return json.loads((PROJECT_ROOT / results_file).read_text())


def results_value(results_file: str, json_path: str) -> Any:
    """The value at ``json_path`` in a committed JSON file.

    Steps are dotted keys, ``[3]`` list indices, and ``[key=value,key2=value2]`` which
    picks the one list element whose fields match (numbers compared as text).
    """
    value = _load(results_file)
    for key, index, selector in _STEP.findall(json_path):
        if key:
            value = value[key]
        elif index:
            value = value[int(index)]
        else:
            wanted = dict(part.split("=", 1) for part in selector.split(","))
            matches = [
                item for item in value if all(str(item.get(k)) == v for k, v in wanted.items())
            ]
            assert len(matches) == 1, f"{results_file}: {selector!r} matches {len(matches)} rows"
            value = matches[0]
    return value


def quoted(doc: str, text_pattern: str) -> str:
    """The one figure ``text_pattern`` (a regex with one group) captures in ``doc``."""
    text = (PROJECT_ROOT / doc).read_text()
    found = re.findall(text_pattern, text)
    assert found, f"{doc} no longer says {text_pattern!r}: update the test with the text"
    assert len(set(found)) == 1, f"{doc}: {text_pattern!r} quotes different figures {found}"
    return str(found[0])


def assert_quoted(
    doc: str, text_pattern: str, results_file: str, json_path: str, fmt: Format
) -> None:
    """The figure in ``doc`` is the results file's value, formatted with ``fmt``."""
    value = results_value(results_file, json_path)
    expected = fmt(value) if callable(fmt) else fmt.format(value)
    actual = quoted(doc, text_pattern)
    assert actual == expected, (
        f"{doc} quotes {actual!r} but {results_file} {json_path} gives {expected!r}: "
        "update the text (or re-run the experiment with --update-reference)"
    )
