"""The request target a load user sends: the backend URL's path, then the request's, quoted where it must be.

Kept free of Locust and gevent imports (only load processes are monkey-patched), so it is
tested in the test process.
"""

from __future__ import annotations

import re
from urllib.parse import quote

# What a request target may carry as it is: RFC 3986's unreserved and reserved characters, and "%"
# (an escape already made stays as it is).
_SAFE = "!#$%&'()*+,/:;=?@[]~"
_NEEDS_QUOTING = re.compile(f"[^A-Za-z0-9_.\\-{re.escape(_SAFE)}]")  # quote() keeps letters, digits and _.- too


def request_target(prefix: str, path: str) -> str:
    """prefix + path, percent-encoded (UTF-8) where a request line cannot carry a character as it is.

    The contract's paths never need it (one regex search); an adapter's may hold a space or a
    non-ASCII letter of a user's key, which Locust's user agent used to quote.
    """
    target = prefix + path
    return quote(target, safe=_SAFE) if _NEEDS_QUOTING.search(target) else target
