"""Watching models in production: metrics, logging, system figures, drift.

Import the submodule you need (``utils.monitoring.metrics``, ``utils.monitoring.logging``,
``utils.monitoring.system`` ...): this package imports nothing itself, so that one app
does not pay for another's dependencies.
"""
