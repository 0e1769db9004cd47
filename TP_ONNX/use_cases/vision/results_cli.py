"""What the two vision benchmarks share on the command line: flags and where results go.

Experiments write to out/vision/<name>.json; only ``--update-reference`` rewrites the
committed reference results/<name>.json that the README quotes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from utils.paths import DEFAULT_MODEL_REPOSITORY, PROJECT_ROOT

RESULTS = Path(__file__).resolve().parent / "results"


def benchmark_parser(doc: str, name: str) -> argparse.ArgumentParser:
    """A parser with --repository, --seed, --output and --update-reference."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repository", type=Path, default=DEFAULT_MODEL_REPOSITORY)
    parser.add_argument("--seed", type=int, default=0, help="evaluation stream seed")
    parser.add_argument(
        "--output", type=Path, default=PROJECT_ROOT / "out" / "vision" / f"{name}.json"
    )
    parser.add_argument(
        "--update-reference",
        action="store_true",
        help=f"write the committed reference {(RESULTS / name).relative_to(PROJECT_ROOT)}.json",
    )
    return parser


def write_result(result: dict[str, Any], args: argparse.Namespace, name: str) -> Path:
    """Write ``result`` to --output, or to the committed reference with --update-reference."""
    output: Path = RESULTS / f"{name}.json" if args.update_reference else args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    return output
