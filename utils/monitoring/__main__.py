"""``python -m utils.monitoring <command>``: the monitoring tools from a shell.

    report     HTML report of one model from the prediction log
    measure    drift detection delay and false alarms, SIGKILL durability, per-request cost

Run ``python -m utils.monitoring <command> --help`` for the options of each (from the
project root), or ``python utils/monitoring/__main__.py ...`` from anywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if not __package__:  # run as a file: its own folder (which holds a logging.py) would shadow
    sys.path[0] = str(Path(__file__).resolve().parents[2])  # the stdlib; the root instead

from utils.errors import ToolkitError
from utils.monitoring.database import DEFAULT_URL


def _profile(repository: Path, model: str) -> dict[str, object] | None:
    manifest = repository / model / "manifest.json"
    if not manifest.is_file():
        return None
    profile = json.loads(manifest.read_text()).get("reference_profile")
    return profile if isinstance(profile, dict) and profile.get("sketches") else None


def _report(args: argparse.Namespace) -> int:
    from utils.monitoring.database import open_database
    from utils.monitoring.report import parse_since, write_report

    engine = open_database(args.url)
    try:
        path = write_report(
            engine,
            args.out,
            model=args.model,
            since=parse_since(args.since),
            profile=_profile(args.repository, args.model),
        )
    finally:
        engine.dispose()
    print(f"report: {path}")  # noqa: T201 (a CLI's one-line summary)
    return 0


def _measure(args: argparse.Namespace) -> int:
    from utils.monitoring.measurements import run, save

    results = run(args.what, out=args.out, quick=args.quick)
    path = save(results, out=args.out, update_reference=args.update_reference)
    print(json.dumps(results, indent=2))  # noqa: T201
    print(f"results: {path}")  # noqa: T201
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.monitoring", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="HTML report of one model from the log")
    report.add_argument("--model", required=True, help="model name, as served")
    report.add_argument("--since", default="24h", help="24h, 7d, 90m or an ISO date (default 24h)")
    report.add_argument("--out", type=Path, default=Path("out/report"), help="folder to write")
    report.add_argument(
        "--url", default=DEFAULT_URL, help=f"prediction log (default {DEFAULT_URL})"
    )
    report.add_argument(
        "--repository", type=Path, default=Path("models"), help="where the manifest's profile is"
    )
    report.set_defaults(run=_report)
    measure = commands.add_parser("measure", help="the figures docs/monitoring.md quotes")
    measure.add_argument(
        "what", nargs="*", default=["drift", "durability", "cost"], help="drift durability cost"
    )
    measure.add_argument("--out", type=Path, default=Path("out/monitoring"), help="results folder")
    measure.add_argument("--quick", action="store_true", help="fewer runs, rougher numbers")
    measure.add_argument(
        "--update-reference",
        action="store_true",
        help="also write docs/monitoring_results.json (the figures the guide quotes)",
    )
    measure.set_defaults(run=_measure)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except ToolkitError as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
