"""Key spaces: the keys (users, groups) an adapter declares, and how each is spelled.

The traffic draws popularity ranks 1..n; a key space turns a rank into the key the history
records (an int64: the key itself for integer keys, the position for string keys) and into the
spellings the templates need (see templates.py: u_ URL-quoted, t_ JSON-string text, j_ JSON literal).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from cachechaos.adapters.model import KeyRange, Keys


class KeySpace:
    def __init__(self, keys: Keys) -> None:
        self.range = keys if isinstance(keys, KeyRange) else None
        self.listed: list[int] | list[str] = [] if isinstance(keys, KeyRange) else keys
        self.strings = bool(self.listed) and isinstance(self.listed[0], str)
        self.n = keys.last - keys.first + 1 if isinstance(keys, KeyRange) else len(keys)
        self._by_raw: dict[str, int] = {str(raw): i + 1 for i, raw in enumerate(self.listed)} if self.strings else {}

    def history_key(self, rank: int) -> int:
        """The key the history records for rank 1..n."""
        if self.range is not None:
            return self.range.first + rank - 1
        return rank if self.strings else int(self.listed[rank - 1])

    def raw(self, history_key: int) -> int | str:
        """The key as the service knows it."""
        return self.listed[history_key - 1] if self.strings else history_key

    def history_of(self, raw: object) -> int | None:
        """The history key of a key the service named in an answer (None: not one of ours)."""
        if self.strings:
            return self._by_raw.get(str(raw))
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            return None
        try:
            return int(raw)
        except ValueError:
            return None

    def fields(self, name: str, history_key: int) -> dict[str, str]:
        """The template fields of one key: u_<name>, t_<name>, j_<name>."""
        if not self.strings:
            text = str(history_key)
            return {"u_" + name: text, "t_" + name: text, "j_" + name: text}
        raw = str(self.listed[history_key - 1])
        literal = json.dumps(raw, ensure_ascii=False)
        return {"u_" + name: quote(raw, safe=""), "t_" + name: literal[1:-1], "j_" + name: literal}
