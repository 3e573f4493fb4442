"""Older Toxiproxy API behaviours the built-in server can take on (`--compat 2.0|2.1|2.6`).

Each dialect copies what a real server of that line answers, read from
Toxiproxy's api.go, its vendored router and CHANGELOG at the tag named; the
default (no dialect) is the current 2.x API. They exist so the client and
every fault can be tested against an old server without having one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

VersionBody = Literal["text", "broken-json"]


@dataclass(frozen=True)
class Dialect:
    name: str
    version: str  # what /version reports, as a release build of that tag does
    version_body: VersionBody
    patch_routes: bool  # PATCH /proxies/{p} and /proxies/{p}/toxics/{t} (2.6.0 on)
    method_mismatch: Literal[404, 405]  # gorilla/mux before v1.6.1 knew no 405
    toxic_types: frozenset[str] | None  # None: every type we implement
    populate_route: bool = True  # POST /populate (2.1.0 on)
    error_key: Literal["error", "title"] = "error"  # 2.0.x named the message "title"


_TOXICS_2_0 = frozenset({"latency", "bandwidth", "slow_close", "timeout", "slicer", "noop"})

DIALECTS: dict[str, Dialect] = {
    # v2.0.0: as 2.1 below, and no /populate, no limit_data toxic, errors as {"title", "status"}.
    "2.0": Dialect(
        name="2.0",
        version="2.0.0",
        version_body="text",
        patch_routes=False,
        method_mismatch=404,
        toxic_types=_TOXICS_2_0,
        populate_route=False,
        error_key="title",
    ),
    # v2.1.4: text/plain version, updates by POST only, a bare 404 for any
    # method a route does not list, and no reset_peer toxic (added in 2.2.0).
    "2.1": Dialect(
        name="2.1",
        version="2.1.4",
        version_body="text",
        patch_routes=False,
        method_mismatch=404,
        toxic_types=_TOXICS_2_0 | {"limit_data"},
    ),
    # v2.6.0: PATCH added, POST deprecated but served; /version is
    # `{"version": "2.6.0"}\n` with a literal backslash-n (not JSON, fixed in 2.7.0).
    "2.6": Dialect(
        name="2.6",
        version="2.6.0",
        version_body="broken-json",
        patch_routes=True,
        method_mismatch=405,
        toxic_types=None,
    ),
}

# Go's http.NotFound body, which the old router sent for an unmatched method.
NOT_FOUND_BODY = b"404 page not found\n"


def dialect(name: str | None) -> Dialect | None:
    """The dialect called `name` (None for the current API); ValueError names the choices."""
    if name is None:
        return None
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(
            f"unknown Toxiproxy compat mode {name!r}; choose one of {', '.join(DIALECTS)}"
        ) from None


def version_body(found: Dialect) -> bytes:
    if found.version_body == "text":
        return found.version.encode()
    return b'{"version": "' + found.version.encode() + b'"}\\n'
