"""`cachechaos probe` for a topology with an adapter: its declared operations against the live service.

Reads the first key (the answer must hold the value or version where the adapter says), checks the
layer header, and unless --no-write writes two unique values to that key and reads them back (with
the bypass headers): the value read must be the last one written (versions: the second above the
first). The write probes leave a unique value in the first key. Bulk updates, orders and carts
are listed, not sent: they would change data the probe cannot put back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cachechaos.adapters.client import AdapterClient
from cachechaos.adapters.hook import AdapterHookError
from cachechaos.adapters.model import AdapterSpec
from cachechaos.adapters.values import FOREIGN, UNKNOWN, UniqueValues, run_nonce

# (area, name, status, detail, required) -> None: the prober's `add`.
Add = Callable[[str, str, str, str, bool], None]
_NOT_SENT = ("bulk_update", "order", "cart_read", "cart_write")


@dataclass
class AdapterSeen:
    """What the probe learned, for the capability table."""

    reads = False
    versions = False
    layer = False
    bypass: bool | None = None


def probe_adapter(adapter: AdapterSpec, base_url: str, add: Add, write: bool, timeout: float) -> AdapterSeen:
    seen = AdapterSeen()
    try:
        client = AdapterClient(adapter, base_url, UniqueValues(adapter.values, run_nonce(time.time())), timeout)
    except AdapterHookError as exc:
        add("adapter", "load", "fail", str(exc), True)
        return seen
    key = client.keys.history_key(1)
    with client:
        try:
            first = client.read("read", key)
        except Exception as exc:  # httpx errors, or whatever the user's class raises
            add("adapter", "read", "fail", f"{type(exc).__name__}: {exc}", True)
            return seen
        judged = first.version not in (UNKNOWN,) and 200 <= first.status < 300
        what = "version" if not adapter.derives_versions else "value"
        add("adapter", "read", "ok" if judged else "fail",
            f"{first.shown}: " + (f"{what} found" if judged else f"no {what} where the adapter says"), True)
        if not judged:
            return seen
        seen.reads = True
        layers = {first.layer} | {client.read("read", key).layer for _ in range(2)}
        seen.layer = layers != {None}
        if adapter.python is None:
            found = ", ".join(sorted(x for x in layers if x)) or "no known value"
            source = adapter.layer_header or (f"body {adapter.layer_path}" if adapter.layer_path else None)
            add("adapter", "layer header", "ok" if seen.layer else "missing",
                f"{source}: {found}" if source else "none declared: hit rates per layer cannot come from the history", False)
        if not write or not adapter.implements("write"):
            why = "--no-write" if not write else "the adapter maps no write"
            add("adapter", "write", "skipped", f"{why}: versions and the bypass not probed", False)
        else:
            _writes(client, key, add, seen)
        for name in _NOT_SENT:
            if adapter.implements(name):
                add("adapter", name, "skipped", "declared; not sent by the probe (it would change data)", False)
    return seen


def _writes(client: AdapterClient, key: int, add: Add, seen: AdapterSeen) -> None:
    tags = [client.values.next(), client.values.next()]
    try:
        answers = [client.write("write", key, tag) for tag in tags]
        back = client.read("read", key, bypass=True)
    except Exception as exc:  # httpx errors, or whatever the user's class raises
        add("adapter", "write", "fail", f"{type(exc).__name__}: {exc}", True)
        return
    if not all(200 <= a.status < 300 for a in answers):
        add("adapter", "write", "fail", "; ".join(a.shown for a in answers), True)
        return
    if client.adapter.derives_versions:
        seen.versions = True
        add("adapter", "write", "ok", f"two unique values written ({', '.join(client.values.text(t) for t in tags)})", True)
        if back.version == tags[1]:
            seen.bypass = True
            add("adapter", "read back", "ok", "the last value written came back (bypass headers honoured)", False)
        else:
            seen.bypass = False
            got = "a value not written by the probe" if back.version == FOREIGN else "an older value"
            add("adapter", "read back", "warn", f"{back.shown}: {got}; final reads rely on the quiescence period", False)
        return
    v1, v2 = answers[0].version, answers[1].version
    seen.versions = UNKNOWN < v1 < v2
    add("adapter", "write", "ok" if seen.versions else "fail",
        f"two writes -> versions {v1}, {v2}" + ("" if seen.versions else ": they must grow"), True)
    seen.bypass = back.version >= v2
    add("adapter", "read back", "ok" if seen.bypass else "warn",
        f"read version {back.version} after writing {v2}", False)
