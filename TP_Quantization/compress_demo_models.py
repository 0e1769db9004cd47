"""Publish the automatically chosen compressed variant of each demo model (`make compress`).

Runs `quantization_tools.py auto` on digits_torch, digits_keras and digits_sklearn in the
repository. Re-runnable: a variant already published from the same fp32 file with the
same recipe is not published twice, so this can run again after `make models` rebuilds
the repository. digits_sklearn (a LogisticRegression: ai.onnx.ml operators, weights in
attributes) has nothing int8 can shrink: the tool says so and publishes nothing, which
is the expected outcome, not a failure.

Run: python TP_Quantization/compress_demo_models.py [--repository models] [--budget 0.01]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no PYTHONPATH
sys.path.insert(0, str(Path(__file__).resolve().parent))

import quantization_tools

from utils.errors import CompressionError
from utils.paths import DEFAULT_MODEL_REPOSITORY

EXPECTED_NOTHING = {"digits_sklearn"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repository", type=Path, default=DEFAULT_MODEL_REPOSITORY)
    parser.add_argument("--budget", type=float, default=0.01)
    parser.add_argument(
        "--models", nargs="*", default=["digits_torch", "digits_keras", "digits_sklearn"]
    )
    args = parser.parse_args(argv)
    failures = []
    for name in args.models:
        print(f"\n== {name} ==")
        status = quantization_tools.main(
            ["auto", name, "--repository", str(args.repository), "--budget", str(args.budget)]
        )
        if status == CompressionError.exit_code and name in EXPECTED_NOTHING:
            print(f"{name}: nothing to publish (expected: no layer int8 can shrink)")
        elif status != 0:
            failures.append(name)
    if failures:
        print(f"\nfailed: {', '.join(failures)}", file=sys.stderr)
        return 1
    print(f"\nDone: see {args.repository}/<model>/manifest.json for the versions and their numbers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
