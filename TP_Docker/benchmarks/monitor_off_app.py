"""Our API with the monitor detached: the benchmark's measure of what the monitor costs.

The same code, settings and models as ``python TP_Docker/app.py``; only the data plane's
observers (the prediction log, drift windows, business metrics) are removed after the app
is built, so no request reaches the monitor. ``bench_serve.py`` runs it beside our API in
the same interleaved rounds: ``monitor_overhead`` is one minus their throughput ratio.
Not a way to serve: to run without the log, set ``API_PREDICTION_LOG=false``.

``python TP_Docker/benchmarks/monitor_off_app.py`` (``API_*`` settings, as the app).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from TP_Docker.app import ServingApp


def create_monitor_off_app() -> ServingApp:
    """Our app (``TP_Docker.app:app``, built at its import), its data plane's observers
    removed. Imported here, not at the top: ``--help`` builds no app."""
    from TP_Docker.app import app

    app.state.plane.observers.clear()
    return app


def main() -> None:
    import argparse

    import uvicorn

    argparse.ArgumentParser(
        prog="python TP_Docker/benchmarks/monitor_off_app.py",
        description="Our API with the monitor detached (a benchmark row); API_* settings.",
    ).parse_args()
    from TP_Docker.app import uvicorn_options
    from TP_Docker.settings import Settings
    from utils.settings_loading import load_settings

    settings = load_settings(Settings)
    uvicorn.run(
        "TP_Docker.benchmarks.monitor_off_app:create_monitor_off_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        **uvicorn_options(settings),  # type: ignore[arg-type]
    )


if __name__ == "__main__":
    main()
