"""The adapter declaration: validation with file:line:field errors, compiled templates, unique values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cachechaos.adapters.compiled import CompiledAdapter, integer_version
from cachechaos.adapters.keys import KeySpace
from cachechaos.adapters.model import AdapterSpec, KeyRange
from cachechaos.adapters.templates import compile_body, compile_url
from cachechaos.adapters.values import FOREIGN, TAG_SPAN, UNKNOWN, UniqueValues, run_nonce
from cachechaos.runtime.topology import load_topology
from cachechaos.traffic.adapted_mix import adapt_traffic
from cachechaos.traffic.spec import TrafficSpec
from cachechaos.yamlmodel import ConfigFileError

ITEMS = {
    "keys": {"first": 1, "last": 50},
    "layer_header": "X-Served-By",
    "layer_values": {"memory": "l1", "origin": "miss"},
    "read": {"method": "GET", "url": "/api/items/{key}", "value": "data.attributes.price"},
    "write": {"method": "PUT", "url": "/api/items/{key}",
              "body": {"data": {"id": "{key}", "attributes": {"price": "{value}", "label": "item-{key}"}}}},
}


def test_templates_keep_types_and_splice_strings() -> None:
    fmt = compile_body({"data": {"id": "{key}", "attributes": {"price": "{value}", "label": "item-{key} {{x}}"}},
                        "n": 3, "flags": [True, None]})
    assert fmt is not None
    fields = {"j_key": "7", "t_key": "7", "j_value": "123.45", "t_value": "123.45"}
    assert json.loads(fmt.format_map(fields)) == {
        "data": {"id": 7, "attributes": {"price": 123.45, "label": "item-7 {x}"}}, "n": 3, "flags": [True, None]}
    assert compile_url("/api/items/{key}/x") == "/api/items/{u_key}/x"
    assert compile_body(None) is None


def test_compiled_adapter_reads_values_versions_and_layers() -> None:
    values = UniqueValues(AdapterSpec.model_validate(ITEMS).values, nonce=7)
    adapter = CompiledAdapter(AdapterSpec.model_validate(ITEMS), values)
    tag = values.next()
    request = adapter.ops["write"].request({**KeySpace(KeyRange(first=1, last=50)).fields("key", 9), **adapter.value_fields(tag)})
    assert request.method == "PUT" and request.path == "/api/items/9"
    assert request.headers == {"Content-Type": "application/json"}
    sent = json.loads(request.payload or "")
    assert sent["data"]["attributes"]["label"] == "item-9"
    # The service answers with the value it stored (as a float): the read maps it back to the tag.
    body = json.dumps({"data": {"attributes": {"price": sent["data"]["attributes"]["price"]}}}).encode()
    assert adapter.read_version("read", 200, body, {"x-served-by": "memory"}) == tag
    assert adapter.layer({"x-served-by": "memory"}) == "l1" and adapter.layer({"x-served-by": "elsewhere"}) is None
    assert adapter.read_version("read", 200, b'{"data": {"attributes": {"price": 12.5}}}', None) == FOREIGN
    assert adapter.read_version("read", 200, b'{"data": {}}', None) == UNKNOWN
    assert adapter.read_version("read", 404, body, None) == UNKNOWN
    assert adapter.write_version("write", 200, b"", None, tag) == tag


def test_the_serving_layer_from_the_body_by_jmespath() -> None:
    spec = {**ITEMS, "layer_header": None, "layer_path": "meta.cache"}
    adapter = CompiledAdapter(AdapterSpec.model_validate(spec), UniqueValues(AdapterSpec.model_validate(spec).values, nonce=7))
    assert adapter.layer({}, b'{"meta": {"cache": "memory"}, "data": {}}') == "l1"
    assert adapter.layer({}, b'{"meta": {"cache": "l2"}}') == "l2"
    assert adapter.layer({}, b'{"meta": {}}') is None and adapter.layer({}, b"not json") is None
    with pytest.raises(ValueError, match="not a JMESPath expression"):
        AdapterSpec.model_validate({**spec, "layer_path": "meta.["})


@pytest.mark.parametrize("raw,expected", [('"17"', 17), ('W/"3"', 3), ("12", 12), ('"a1b2"', UNKNOWN), (None, UNKNOWN)])
def test_versions_from_headers(raw: str | None, expected: int) -> None:
    assert integer_version(raw) == expected


def test_unique_values_round_trip_and_differ_between_processes() -> None:
    number = AdapterSpec.model_validate(ITEMS).values
    a, b = UniqueValues(number, 5, 0, 2), UniqueValues(number, 5, 1, 2)
    tags = [a.next() for _ in range(100)] + [b.next() for _ in range(100)]
    assert len(set(tags)) == 200 and all(5 * TAG_SPAN < t < 6 * TAG_SPAN for t in tags)
    for t in tags[:5] + tags[-5:]:
        assert a.tag_of(float(a.text(t))) == t and a.tag_of(a.text(t)) == t and a.tag_of(a.python(t)) == t
    strings = UniqueValues(AdapterSpec.model_validate({**ITEMS, "values": {"type": "string", "prefix": "rev:"}}).values, 9)
    t = strings.next()
    assert strings.literal(t) == f'"rev:{t}"' and strings.tag_of(f"rev:{t}") == t
    assert strings.tag_of("hello") == FOREIGN and strings.tag_of(None) == UNKNOWN and strings.tag_of(True) == FOREIGN
    assert 1 <= run_nonce(1_700_000_000.123) <= 999


def test_string_keys_are_positions_in_the_history() -> None:
    space = KeySpace(["sku a", "sku-b"])
    assert space.history_key(2) == 2 and space.raw(1) == "sku a" and space.history_of("sku-b") == 2
    assert space.fields("key", 1) == {"u_key": "sku%20a", "t_key": "sku a", "j_key": '"sku a"'}


@pytest.mark.parametrize("change,message", [
    ({"write": {"method": "PUT", "url": "/api/items/{key}", "body": {"price": "{valeu}"}}}, "unknown placeholder {valeu}"),
    ({"write": {"method": "PUT", "url": "/api/items/{key}", "body": {"price": 3}}}, "unique {value}"),
    ({"read": {"method": "GET", "url": "/api/items/{key}"}}, "`value`"),
    ({"read": {"method": "GET", "url": "/api/items/{key}", "value": "data.["}}, "not a JMESPath"),
    ({"read": {"method": "GET", "url": "api/items/{key}", "value": "price"}}, "starting with /"),
    ({"read": None}, "needs `read`"),
    ({"keys": {"first": 5, "last": 1}}, "below first"),
])
def test_validation_names_what_is_wrong(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("[", r"\[")):
        AdapterSpec.model_validate({**ITEMS, **change})


def test_versioned_read_needs_versioned_writes() -> None:
    data = {**ITEMS, "read": {"method": "GET", "url": "/v2/things/{key}", "version_header": "ETag", "value": "price"}}
    with pytest.raises(ValueError, match="write's answer must too"):
        AdapterSpec.model_validate(data)
    ok = AdapterSpec.model_validate({**data, "write": {**ITEMS["write"], "method": "PATCH", "version_header": "ETag"}})
    assert not ok.derives_versions and AdapterSpec.model_validate(ITEMS).derives_versions


def test_topology_names_an_adapter_file_and_errors_name_its_line(tmp_path: Path) -> None:
    (tmp_path / "adapters").mkdir()
    adapter = tmp_path / "adapters" / "items.yaml"
    adapter.write_text(yaml.safe_dump(ITEMS, sort_keys=False))
    topology = tmp_path / "topology.yaml"
    topology.write_text(yaml.safe_dump({"kind": "external", "backends": ["http://127.0.0.1:1"], "adapter": "adapters/items.yaml"}))
    spec = load_topology(topology)
    assert spec.kind == "external" and spec.adapter is not None
    assert spec.catalog.products == 50  # the traffic draws from the adapter's keys

    adapter.write_text(adapter.read_text().replace("method: GET", "method: FETCH"))
    with pytest.raises(ConfigFileError) as err:
        load_topology(topology)
    assert err.value.path == str(adapter.resolve()) and err.value.field == "read.method"
    line = next(i for i, text in enumerate(adapter.read_text().splitlines(), 1) if "FETCH" in text)
    assert err.value.line == line

    inline = {"kind": "external", "backends": ["http://127.0.0.1:1"], "adapter": {**ITEMS, "keys": {"last": "many"}}}
    topology.write_text(yaml.safe_dump(inline))
    with pytest.raises(ConfigFileError) as err:
        load_topology(topology)
    assert err.value.path == str(topology) and (err.value.field or "").startswith("adapter.keys")


def test_unmapped_actions_leave_the_mix_with_a_message() -> None:
    spec = TrafficSpec.model_validate({"mix": {"browse": 70, "write_price": 10, "discount": 5, "checkout": 3,
                                               "cart_read": 0, "cart_write": 0, "absent": 2}})
    adapted, messages = adapt_traffic(spec, AdapterSpec.model_validate(ITEMS))
    weights = adapted.mix.weights()
    assert weights["discount"] == weights["checkout"] == 0 and weights["browse"] == 70 and weights["absent"] == 2
    assert any("discount (weight 5) left out" in m and "bulk_update" in m for m in messages) and len(messages) == 2
    listed = AdapterSpec.model_validate({**ITEMS, "keys": [3, 5, 8]})
    assert any(m.startswith("traffic: absent") for m in adapt_traffic(spec, listed)[1])
    with pytest.raises(ValueError, match="none of the traffic mix"):
        adapt_traffic(TrafficSpec.model_validate({"mix": {"browse": 0, "checkout": 1, "write_price": 0,
                                                          "cart_read": 0, "cart_write": 0, "absent": 0}}),
                      AdapterSpec.model_validate(ITEMS))


@pytest.mark.parametrize("expression,doc,expected", [
    ("data.attributes.price", {"data": {"attributes": {"price": 2.5}}}, 2.5),
    ("price", {"price": 3}, 3),
    ("data.price", {"data": [1]}, None),
    ("data.missing.price", {"data": {}}, None),
    ("items[0].price", {"items": [{"price": 4}]}, 4),        # not a plain chain: jmespath's interpreter
    ("updated[*].id", {"updated": [{"id": 1}, {"id": 2}]}, [1, 2]),
])
def test_paths_agree_with_jmespath(expression: str, doc: object, expected: object) -> None:
    import jmespath

    from cachechaos.adapters.compiled import FieldPath, compile_path

    compiled = compile_path(expression)
    assert compiled.search(doc) == expected == jmespath.search(expression, doc)
    assert isinstance(compiled, FieldPath) == ("[" not in expression)


def test_bulk_updates_orders_and_carts_compile() -> None:
    spec = AdapterSpec.model_validate({
        **ITEMS, "groups": ["summer", "winter"],
        "bulk_update": {"method": "POST", "url": "/api/groups/{group}/reprice", "body": {"price": "{value}", "cut": "{percent}"},
                        "updated": "changed[*].item"},
        "order": {"method": "POST", "url": "/api/orders", "body": {"item": "{key}", "count": "{qty}", "buyer": "u-{user}"}},
        "cart_read": {"method": "GET", "url": "/api/baskets/{user}", "value": "note"},
        "cart_write": {"method": "PUT", "url": "/api/baskets/{user}", "body": {"note": "{value}"}},
    })
    values = UniqueValues(spec.values, 3)
    adapter = CompiledAdapter(spec, values)
    tag = values.next()
    request = adapter.ops["bulk_update"].request({**KeySpace(spec.groups).fields("group", 2), **adapter.value_fields(tag),
                                                  "j_percent": "10.0"})
    assert request.path == "/api/groups/winter/reprice" and json.loads(request.payload or "")["cut"] == 10.0
    assert adapter.bulk_updates(200, b'{"changed": [{"item": 4}, {"item": "7"}, {"item": null}]}', tag) == [(4, tag), (7, tag)]
    assert adapter.bulk_updates(500, b'{"changed": [{"item": 4}]}', tag) == []
    order = adapter.ops["order"].request({**KeySpace(spec.keys).fields("key", 5), **KeySpace(spec.users).fields("user", 9),
                                          "j_qty": "2", "t_qty": "2", "u_qty": "2"})
    assert json.loads(order.payload or "") == {"item": 5, "count": 2, "buyer": "u-9"}
    assert adapter.read_version("cart_read", 200, json.dumps({"note": values.text(tag)}), None) == tag


def test_hook_results_become_history_fields() -> None:
    from cachechaos.adapters.hook import BulkWritten, Read, Written, bulk_outcome, hook_outcome

    values = UniqueValues(AdapterSpec.model_validate(ITEMS).values, 4)
    tag = values.next()
    assert hook_outcome("read", Read(value=values.python(tag), layer="l2"), values, UNKNOWN) == (200, tag, "l2")
    assert hook_outcome("read", Read(status=404), values, UNKNOWN) == (404, UNKNOWN, None)
    assert hook_outcome("read", Read(version=7, layer="disk"), values, UNKNOWN) == (200, 7, None)
    assert hook_outcome("write", Written(), values, tag) == (200, tag, None)
    assert hook_outcome("write", Written(version=8), values, tag, derived=False) == (200, 8, None)
    assert hook_outcome("write", None, values, tag) == (0, UNKNOWN, None)  # it raised
    assert hook_outcome("order", 409, values, UNKNOWN, qty=2) == (409, 2, None)
    keys = KeySpace(KeyRange(first=1, last=50))
    assert bulk_outcome(BulkWritten(keys=[3, "x", 4]), keys, tag) == [(3, tag), (4, tag)]
    assert bulk_outcome(BulkWritten(keys=[3], versions=[12]), keys, tag) == [(3, 12)]
