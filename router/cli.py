"""The `switchboard` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard", description="Multichannel contact-centre router with an IVR simulator."
    )
    parser.add_argument(
        "-c", "--config", default="config.yaml", help="config file (default: %(default)s)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the router")
    run.add_argument("--http", default="127.0.0.1:8080")
    run.add_argument("--smtp", default="127.0.0.1:8025")
    run.add_argument(
        "--store", default=None, help="memory://, sqlite:///path.db or redis://host:port/db"
    )
    run.add_argument("--demo", action="store_true", help="load demo accounts and agents")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        print("switchboard run: the router core is not built yet (issue 3)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
