"""HTTP response → history record: version parsing, layers, discount expansion."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from cachechaos.history.format import UNKNOWN_VERSION, Layer, Op, read_history_file
from cachechaos.history.writer import HistoryWriter
from cachechaos.traffic.recorder import Recorder, body_version, layer_of

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


def test_fast_path_on_contract_bodies() -> None:
    assert body_version(b'{"id":7,"name":"product 7","category_id":7,"price":"12.50","stock":100,"version":42}') == 42
    assert body_version(b'{"id":7,"price":"1.00","version":3}') == 3
    assert body_version(b'{"user_id":5,"items":[{"product_id":1,"qty":2,"version":9}],"version":4}') == 4
    assert body_version(b'{"version": 8 }\n') == 8


def test_fallbacks() -> None:
    assert body_version(b'{"version":5,"id":1}') == 5
    assert body_version(b'{"items":[{"version":9}]}') == UNKNOWN_VERSION
    assert body_version(b'{"a":{"version":1}}') == UNKNOWN_VERSION
    assert body_version(b'{"version":"7"}') == UNKNOWN_VERSION
    assert body_version(b'{"version":true}') == UNKNOWN_VERSION
    assert body_version(b"not json") == UNKNOWN_VERSION
    assert body_version(b"") == UNKNOWN_VERSION
    assert body_version(None) == UNKNOWN_VERSION
    assert body_version(b"[1,2]") == UNKNOWN_VERSION


@given(doc=st.dictionaries(st.text(max_size=8), json_values, max_size=5),
       version=st.one_of(st.none(), st.integers(0, 2**62)), compact=st.booleans())
def test_fast_path_agrees_with_json(doc: dict[str, object], version: int | None, compact: bool) -> None:
    if version is not None:
        doc["version"] = version
    body = json.dumps(doc, separators=(",", ":") if compact else None).encode()
    expected = doc.get("version")
    want = expected if isinstance(expected, int) and not isinstance(expected, bool) else UNKNOWN_VERSION
    assert body_version(body) == want


def test_layers() -> None:
    assert layer_of("l1") == Layer.L1
    assert layer_of("L2") == Layer.L2
    assert layer_of("miss") == Layer.MISS
    assert layer_of(None) == Layer.NONE
    assert layer_of("cdn") == Layer.NONE


def test_records(tmp_path: Path) -> None:
    path = tmp_path / "history" / "p.hist"
    rec = Recorder(HistoryWriter(path))
    assert rec.record(Op.READ, 5, 1.0, 1.5, 200, "l2", b'{"id":5,"version":3}', client=7) == 3
    rec.record(Op.ABSENT_READ, 9999, 2.0, 2.1, 404, "miss", None, client=7)
    rec.record(Op.WRITE, 5, 3.0, 3.2, 200, None, b'{"id":5,"price":"9.99","version":4}')
    rec.record(Op.ORDER, 5, 4.0, 4.1, 409, None, b'{"error":"out of stock"}', version=2)
    rec.record(Op.READ, 6, 5.0, 7.0, 0, None, None)
    body = json.dumps({"updated": [{"id": 1, "version": 2}, {"id": 101, "version": 5}]}).encode()
    assert rec.record(Op.DISCOUNT, 1, 6.0, 6.5, 200, None, body) == 2
    rec.record(Op.CART_READ, 3, 7.0, 7.1, 200, "l2", b'{"user_id":3,"items":[],"version":0}')
    rec.close()
    got = [(r.op, r.key, r.version, r.layer, r.status, r.client) for r in read_history_file(path)]
    assert got == [
        (Op.READ, 5, 3, Layer.L2, 200, 7),
        (Op.ABSENT_READ, 9999, UNKNOWN_VERSION, Layer.MISS, 404, 7),
        (Op.WRITE, 5, 4, Layer.NONE, 200, 0),
        (Op.ORDER, 5, 2, Layer.NONE, 409, 0),
        (Op.READ, 6, UNKNOWN_VERSION, Layer.NONE, 0, 0),
        (Op.DISCOUNT, 1, 2, Layer.NONE, 200, 0),
        (Op.DISCOUNT_WRITE, 1, 2, Layer.NONE, 200, 0),
        (Op.DISCOUNT_WRITE, 101, 5, Layer.NONE, 200, 0),
        (Op.CART_READ, 3, 0, Layer.L2, 200, 0),
    ]
    discount = [r for r in read_history_file(path) if r.op in (Op.DISCOUNT, Op.DISCOUNT_WRITE)]
    assert {(r.invoke, r.complete) for r in discount} == {(6.0, 6.5)}
