"""Runs one instance under uvicorn (uvloop when available)."""

from __future__ import annotations

import logging

import uvicorn

from cachechaos.backend.app import build_app
from cachechaos.backend.config import BackendConfig


def serve(cfg: BackendConfig, host: str = "127.0.0.1", port: int = 8080) -> None:
    logging.basicConfig(
        level=cfg.log_level.upper(),
        format=f"%(asctime)s {cfg.instance} %(levelname)s %(name)s: %(message)s",
    )
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:
        http = "h11"
    config = uvicorn.Config(
        build_app(cfg),
        host=host,
        port=port,
        loop=loop,
        http=http,
        lifespan="on",
        access_log=False,
        log_level=cfg.log_level,
        # SIGTERM: stop accepting, give in-flight requests a moment, then go.
        timeout_graceful_shutdown=2,
        backlog=2048,
    )
    uvicorn.Server(config).run()
