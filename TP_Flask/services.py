"""What one app instance holds, reachable from any view as :func:`get_services`.

Stored in ``app.extensions`` rather than in module globals, so every ``create_app()`` (ten
in a test run) has its own data plane, counters and settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from TP_Flask.live_drift import LiveDrift
from TP_Flask.live_stats import LiveStats
from TP_Flask.settings import Settings
from utils.deployment_helpers.dataplane import DataPlane
from utils.monitoring.logging import AccessLog
from utils.monitoring.system import SystemSampler

EXTENSION_KEY = "tp_flask"


@dataclass(frozen=True)
class Services:
    """The app's long-lived parts, built once by ``create_app``."""

    settings: Settings
    plane: DataPlane
    """The one request path (shared with the API's code): models, batching, metrics."""
    stats: LiveStats
    system: SystemSampler
    drift: LiveDrift
    """Recent inputs per model, scored against the manifest's training profile."""
    access_log: AccessLog


def get_services() -> Services:
    """The current app's services (inside a request or an app context)."""
    services: Services = current_app.extensions[EXTENSION_KEY]
    return services
