"""Unique written values: versions for a service that keeps none.

Every write carries a value no other write of the run carries (its tag, spelled as a price or a
string), so a value read back names the write that produced it; `derive.py` turns those
writes into versions after the run (Jepsen's register tests work the same way).

A tag is `nonce * TAG_SPAN + n`, where n numbers this run's writes over all load processes and
the nonce differs from run to run (it comes from the run's start time): a value an earlier run
left behind is not mistaken for one of this run's writes (one chance in NONCES).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from cachechaos.adapters.model import ValueEncoding

TAG_SPAN = 10**8   # writes per run before the numbering runs out
NONCES = 999
UNKNOWN = -1       # the answer had no value at all: the read is not judged
FOREIGN = 0        # a value no write of this run produced: what the key held before the run


def run_nonce(start_at: float) -> int:
    """1..NONCES, the same in every load process of a run (they share its start time)."""
    return int(start_at * 1000) % NONCES + 1


class UniqueValues:
    """The spelling of tags as values and back; `next()` hands out this process's next tag."""

    def __init__(self, encoding: ValueEncoding, nonce: int = 1, process_index: int = 0, processes: int = 1) -> None:
        if not 1 <= nonce <= NONCES:
            raise ValueError(f"nonce must be 1..{NONCES}, not {nonce}")
        self.encoding = encoding
        self.number = encoding.type == "number"
        self.scale = 10 ** encoding.decimals
        self.prefix = encoding.prefix
        self._base = nonce * TAG_SPAN + process_index + 1
        self._processes = processes
        self._sequence = itertools.count()

    def next(self) -> int:
        n = next(self._sequence) * self._processes
        if n >= TAG_SPAN - self._processes:
            raise OverflowError(f"more than {TAG_SPAN} writes in one run: unique values ran out")
        return self._base + n

    def text(self, tag: int) -> str:
        """The value as it appears spliced into a URL or a string."""
        if not self.number:
            return f"{self.prefix}{tag}"
        if self.scale == 1:
            return str(tag)
        whole, frac = divmod(tag, self.scale)
        return f"{whole}.{frac:0{self.encoding.decimals}d}"

    def literal(self, tag: int) -> str:
        """The value as a JSON literal (a number, or a quoted string)."""
        return self.text(tag) if self.number else json.dumps(self.text(tag))

    def python(self, tag: int) -> float | int | str:
        """The value as a Python adapter receives it."""
        if not self.number:
            return self.text(tag)
        return tag if self.scale == 1 else tag / self.scale

    def tag_of(self, value: Any) -> int:
        """The tag a value read back carries: FOREIGN when no write of this run spelled it that way,
        UNKNOWN when there was no value (None)."""
        if value is None:
            return UNKNOWN
        if isinstance(value, bool):
            return FOREIGN
        if self.number:
            try:
                tag = round(float(value) * self.scale)
            except (TypeError, ValueError, OverflowError):
                return FOREIGN
        elif isinstance(value, str) and value.startswith(self.prefix) and value[len(self.prefix):].isdigit():
            tag = int(value[len(self.prefix):])
        else:
            return FOREIGN
        return tag if TAG_SPAN <= tag < (NONCES + 1) * TAG_SPAN else FOREIGN
