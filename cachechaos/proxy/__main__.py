"""`python -m cachechaos.proxy --listen HOST:PORT`: run the Toxiproxy-compatible server.

It also takes `toxiproxy-server`'s own flags (`-host`, `-port`, `-config FILE`), so a compose file
written for Toxiproxy's image runs it unchanged (the toolkit's image has it as `/toxiproxy`).

Deliberately imports only the standard library, h11 and (if present) uvloop,
so the child process answers `GET /version` quickly.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .addresses import join_address, split_address
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
    parser.add_argument(
        "--config", "-config", default=None, metavar="FILE",
        help="JSON list of proxies ({name, listen, upstream, enabled}) to create at start, as Toxiproxy's -config",
    )
    parser.add_argument("-host", default=None, help="Toxiproxy's spelling: the API's host (instead of --listen)")
    parser.add_argument("-port", type=int, default=None, help="Toxiproxy's spelling: the API's port (default 8474)")
    args = parser.parse_args(argv)
    listen = args.listen
    if args.host is not None or args.port is not None:
        default_host, default_port = split_address(DEFAULT_API_LISTEN)
        listen = join_address(args.host or default_host, args.port or default_port)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    return run_server(listen, args.compat, args.config)


if __name__ == "__main__":
    sys.exit(main())
