"""Who gets JSON and who gets a page: one rule for the routes and the error handlers.

Every ``/api/`` route answers JSON, and so does any request whose ``Accept`` prefers JSON
(the page's own scripts send ``Accept: application/json``); everyone else gets a page.
"""

from __future__ import annotations

from flask import request


def wants_json() -> bool:
    """True for API routes and for clients that ask for JSON first."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes["application/json"] > 0
