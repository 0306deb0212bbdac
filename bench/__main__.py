"""Benchmark the queue backends; print a table and write the figures as JSON.

Exits 1 when any backend fails (a missing backend is a failure, never a skip); then
nothing is written and a results file from an earlier run is removed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.report import render_table, write_json
from bench.runner import BACKENDS, FULL, QUICK, run

DEFAULT_OUT = Path(__file__).with_name("results.json")


def _backends(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown backends {unknown or value!r}; choose from {','.join(BACKENDS)}"
        )
    return names


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument(
        "--backends",
        type=_backends,
        default=list(BACKENDS),
        help=f"comma-separated, default {','.join(BACKENDS)}",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="results JSON file (default %(default)s)"
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as tmp:
        results = run(args.backends, QUICK if args.quick else FULL, Path(tmp))
    total_s = time.perf_counter() - start

    if results.figures:
        print(render_table(results.figures))
    times = ", ".join(f"{name} {s:.1f} s" for name, s in results.elapsed_s.items())
    print(f"\ntotal {total_s:.1f} s ({times})")
    if results.failures:
        for backend, trace in results.failures.items():
            print(f"\nbench: {backend} FAILED\n{trace}", file=sys.stderr)
        args.out.unlink(missing_ok=True)
        print(f"bench failed: {', '.join(results.failures)}; nothing written", file=sys.stderr)
        return 1
    write_json(results.figures, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
