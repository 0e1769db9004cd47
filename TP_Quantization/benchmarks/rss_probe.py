"""Peak memory of a process that serves one model: load it, answer requests, report.

Run in a fresh interpreter per model by run_benchmarks.py, importing only what a serving
process imports (numpy + onnxruntime), so the figure is what a server would pay for this
model and nothing else: ``python rss_probe.py model.onnx feed.npz [calls]``. Prints one
JSON line: {"peak_rss_mb": ..., "calls": ...}.
"""

from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the .onnx file to serve")
    parser.add_argument("feed", help="an .npz holding one array per model input")
    parser.add_argument("calls", nargs="?", type=int, default=200, help="runs (default 200)")
    args = parser.parse_args(argv)
    model, feed_file, calls = args.model, args.feed, args.calls
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
