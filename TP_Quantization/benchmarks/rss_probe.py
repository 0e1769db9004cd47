"""Peak memory of a process that serves one model: load it, answer requests, report.

Run in a fresh interpreter per model by run_benchmarks.py, importing only what a serving
process imports (numpy + onnxruntime), so the figure is what a server would pay for this
model and nothing else: ``python rss_probe.py model.onnx feed.npz [calls]``. Prints one
JSON line: {"peak_rss_mb": ..., "calls": ...}.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort


def peak_rss_kb() -> int:
    """This process's peak RSS since exec.

    Not ``getrusage().ru_maxrss``: on Linux it survives exec, so a child forked from a big
    parent (the benchmark holds torch) reports the PARENT's size. ``VmHWM`` in
    /proc/self/status belongs to the new address space and starts afresh at exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main() -> int:
    model, feed_file = sys.argv[1], sys.argv[2]
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    with np.load(feed_file) as archive:
        feed = {name: archive[name] for name in archive.files}
    for _ in range(calls):
        session.run(None, feed)
    print(json.dumps({"peak_rss_mb": round(peak_rss_kb() / 1024, 1), "calls": calls}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
