"""Free TCP ports on loopback."""

from __future__ import annotations

import socket
import threading

_lock = threading.Lock()
# Ports handed out by this process: the OS may return a just-released port
# twice before anything binds it, and a topology asks for a dozen at once.
_handed_out: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that nothing listens on right now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        with _lock:
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError(f"no free TCP port found on {host}")


def split_address(address: str) -> tuple[str, int]:
    """Split "host:port" (IPv6 as "[::1]:port") into its parts."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"not a host:port address: {address!r}")
    return host.strip("[]"), int(port)
