"""Watching models in production: metrics, logging, system figures, the prediction log,
feedback, drift, alerts and reports.

Import the submodule you need: this package imports nothing itself, so that one app does
not pay for another's dependencies.

- ``model_monitor``: :class:`ModelMonitor`, the one object the data plane calls per request
- ``prediction_log`` (+ ``records``, ``schema``, ``database``, ``migrations/``): the log
- ``queries``: feedback, live and estimated accuracy, drift windows read from the log
- ``profile``, ``stattests``, ``distributions``, ``drift``: reference profile and tests
- ``drift_monitor``, ``business``: the Prometheus metrics of drift, accuracy and clients
- ``report``, ``alert_receiver``, ``measurements``: tools (``python -m utils.monitoring``)
- ``metrics``, ``system``, ``logging``: serving metrics, psutil figures, structured logs
"""
