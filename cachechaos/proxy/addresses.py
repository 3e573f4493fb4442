"""`host:port` strings as Toxiproxy writes them."""

from __future__ import annotations


def split_address(address: str) -> tuple[str, int]:
    """Split `host:port` (or `[v6]:port`) into host and port; raise ValueError if malformed."""
    if not isinstance(address, str) or ":" not in address:
        raise ValueError(f"address {address!r} is not host:port")
    host, _, port_text = address.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port_text.isdigit() or len(port_text) > 5:
        raise ValueError(f"address {address!r} has no valid port")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"address {address!r} has a port above 65535")
    return host, port


def join_address(host: str, port: int) -> str:
    """Inverse of split_address."""
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"
