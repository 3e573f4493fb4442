"""A Python adapter is told when a read is a final read (so it can bypass its caches); older hooks,
whose read takes the key alone, are called as before."""

from __future__ import annotations

from pathlib import Path

from cachechaos.adapters.client import AdapterClient
from cachechaos.adapters.model import AdapterSpec

HOOKS = Path(__file__).resolve().parent / "hooks"


def _client(cls: str) -> AdapterClient:
    spec = AdapterSpec.model_validate({"python": f"final_aware:{cls}", "path": str(HOOKS), "keys": {"first": 1, "last": 5}})
    return AdapterClient(spec, "http://127.0.0.1:1")


def test_final_reads_reach_the_hook_as_final() -> None:
    with _client("FinalAware") as client:
        assert client.hook is not None
        assert client.read("read", 2).layer == "l1" and client.hook.finals == []
        assert client.read("read", 2, bypass=True).layer == "miss"
        assert client.hook.finals == [2]


def test_a_hook_without_the_flag_still_reads() -> None:
    with _client("KeyOnly") as client:
        assert client.read("read", 2, bypass=True).status == 200
        assert client.hook is not None and client.hook.finals == []
