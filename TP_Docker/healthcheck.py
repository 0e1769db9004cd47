"""The container's HEALTHCHECK: exit 0 when ``/v2/health/ready`` answers 200, else 1.

Standard library only (the slim image has no curl); reads the port from ``API_PORT`` so
the check follows the server when the port is changed.
"""

import os
import sys
import urllib.request

PORT = os.environ.get("API_PORT", "8000")

try:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/v2/health/ready", timeout=2) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except OSError:
    sys.exit(1)
