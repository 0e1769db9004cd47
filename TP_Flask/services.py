"""What one app instance holds, reachable from any view as :func:`get_services`.

Stored in ``app.extensions`` rather than in module globals, so every ``create_app()`` (ten
in a test run) has its own data plane, counters and settings.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import current_app

from TP_Flask.settings import Settings
from utils.deployment_helpers.dataplane import DataPlane
from utils.monitoring.logging import AccessLog
from utils.monitoring.model_monitor import ModelMonitor
from utils.monitoring.system import SystemSampler

EXTENSION_KEY = "tp_flask"


@dataclass(frozen=True)
class Services:
    """The app's long-lived parts, built once by ``create_app``."""

    settings: Settings
    plane: DataPlane
    """The one request path (shared with the API's code): models, batching, metrics."""
    monitor: ModelMonitor
    """Prediction log, drift, accuracy and business metrics (the plane's observer)."""
    system: SystemSampler
    access_log: AccessLog
    _stopped: threading.Event = field(default_factory=threading.Event)

    def shutdown(self) -> None:
        """Drain queued requests, then write every accepted log record (once: atexit and
        gunicorn's ``worker_exit`` both call it)."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.plane.stop_background()
        self.monitor.close()


def get_services() -> Services:
    """The current app's services (inside a request or an app context)."""
    services: Services = current_app.extensions[EXTENSION_KEY]
    return services
