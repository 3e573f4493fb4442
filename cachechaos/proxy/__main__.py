"""`python -m cachechaos.proxy --listen HOST:PORT`: run the Toxiproxy-compatible server.

Deliberately imports only the standard library, h11 and (if present) uvloop,
so the child process answers `GET /version` quickly.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .compat import DIALECTS
from .server import DEFAULT_API_LISTEN, run_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cachechaos.proxy",
        description="Toxiproxy-compatible fault proxy (HTTP API + TCP proxies).",
    )
    parser.add_argument(
        "--listen",
        default=DEFAULT_API_LISTEN,
        help=f"HOST:PORT for the HTTP API (default {DEFAULT_API_LISTEN})",
    )
    parser.add_argument(
        "--compat",
        choices=sorted(DIALECTS),
        default=None,
        help="answer as an older Toxiproxy API would (2.1: no PATCH, plain-text /version; "
        "2.0: also no /populate; 2.6: /version not valid JSON)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    return run_server(args.listen, args.compat)


if __name__ == "__main__":
    sys.exit(main())
