"""The adapter declaration: how the toolkit's operations map onto a service's own HTTP API.

A topology of kind `external` may carry an `adapter:` section (or name a YAML file holding one).
Without it the service must speak the sample backend's contract (docs/backend-contract.md); with it, each of the
toolkit's operations (read and write of a keyed resource, bulk update, order, cart read and write)
is a declared request: method, URL template, JSON body template, and where the answer keeps what
the history needs (the value, the version, the serving layer). Or the adapter names a Python class
(`python: module:Class`) for APIs a declaration cannot express.

Placeholders in URLs and bodies: `{key}` (the resource), `{value}` (the unique value a write
carries), `{user}`, `{qty}` (orders), `{group}` and `{percent}` (bulk updates). A body string that
is exactly one placeholder becomes a typed JSON value (a number stays a number); a placeholder
inside a longer string is spliced into it.
"""

from __future__ import annotations

import string
from typing import Any, Literal

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Method = Literal["GET", "PUT", "POST", "PATCH", "DELETE"]
LayerName = Literal["l1", "l2", "miss"]
OperationName = Literal["read", "write", "bulk_update", "order", "cart_read", "cart_write"]

# The placeholders each operation may use: anything else is a typo the user hears about at load time.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "read": frozenset({"key"}),
    "write": frozenset({"key", "value"}),
    "bulk_update": frozenset({"group", "value", "percent"}),
    "order": frozenset({"key", "qty", "user"}),
    "cart_read": frozenset({"user"}),
    "cart_write": frozenset({"user", "value"}),
}
# The traffic mix's actions and the operation each one needs.
ACTION_OPERATION: dict[str, OperationName] = {
    "browse": "read", "hot": "read", "absent": "read", "write_price": "write", "discount": "bulk_update",
    "checkout": "order", "cart_read": "cart_read", "cart_write": "cart_write",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def placeholders_in(template: str) -> set[str]:
    """The `{name}` fields of a template; ValueError when its braces do not parse."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _template_leaves(body: Any) -> list[str]:
    if isinstance(body, str):
        return [body]
    if isinstance(body, dict):
        return [leaf for k, v in body.items() for leaf in (*_template_leaves(str(k)), *_template_leaves(v))]
    if isinstance(body, list):
        return [leaf for v in body for leaf in _template_leaves(v)]
    return []


def _check_path(expression: str | None) -> str | None:
    if expression is not None:
        try:
            jmespath.compile(expression)
        except JMESPathError as exc:
            raise ValueError(f"not a JMESPath expression ({' '.join(str(exc).split())})") from None
    return expression


class KeyRange(_Strict):
    """Integer keys first..last."""

    first: int = Field(1, description="the lowest key")
    last: int = Field(description="the highest key")

    @model_validator(mode="after")
    def _ordered(self) -> KeyRange:
        if self.last < self.first:
            raise ValueError(f"last ({self.last}) is below first ({self.first})")
        return self


Keys = KeyRange | list[int] | list[str]


def key_count(keys: Keys) -> int:
    return keys.last - keys.first + 1 if isinstance(keys, KeyRange) else len(keys)


class HttpOperation(_Strict):
    """One request of the service's API and where its answer keeps what the history needs."""

    method: Method = Field(description="HTTP method")
    url: str = Field(description="path (joined to the backend's base URL) with placeholders, e.g. /api/items/{key}")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers (static)")
    body: Any = Field(None, description="JSON body template (any YAML structure); none: no body")
    value: str | None = Field(None, description="JMESPath of the value in the response body (reads)")
    version: str | None = Field(None, description="JMESPath of an integer version in the response body, if it has one")
    version_header: str | None = Field(None, description="response header holding an integer version (e.g. ETag: \"17\")")

    @field_validator("value", "version")
    @classmethod
    def _paths(cls, expression: str | None) -> str | None:
        return _check_path(expression)

    @field_validator("url")
    @classmethod
    def _path(cls, url: str) -> str:
        if not url.startswith("/"):
            raise ValueError("must be a path starting with / (the backend's base URL comes from `backends`)")
        return url

    def placeholders(self) -> set[str]:
        found = placeholders_in(self.url)
        for leaf in _template_leaves(self.body):
            found |= placeholders_in(leaf)
        return found

    @property
    def versioned(self) -> bool:
        return self.version is not None or self.version_header is not None


class BulkOperation(HttpOperation):
    """An update of a group of keys at once (the bulk sale)."""

    updated: str = Field(description="JMESPath of the list of keys the answer says it updated, e.g. updated[*].id")
    updated_versions: str | None = Field(None, description="JMESPath of their versions, in the same order")

    @field_validator("updated", "updated_versions")
    @classmethod
    def _lists(cls, expression: str | None) -> str | None:
        return _check_path(expression)


class ValueEncoding(_Strict):
    """How a write's unique value is spelled, so a value read back names the write that produced it."""

    type: Literal["number", "string"] = Field(
        "number", description="number: the tag as a decimal with `decimals` places (a price); string: prefix + tag")
    decimals: int = Field(2, ge=0, le=4, description="number: digits after the point")
    prefix: str = Field("cc-", pattern=r"^[A-Za-z0-9_.:-]*$", description="string: text before the tag")


class AdapterSpec(_Strict):
    """How cachechaos talks to a service that does not speak the sample backend's contract."""

    keys: Keys = Field(description="the resource keys the traffic uses: {first, last} or a list (ints or strings)")
    users: Keys = Field(default_factory=lambda: KeyRange(first=1, last=1_000), description="cart and order users")
    groups: Keys = Field(default_factory=lambda: KeyRange(first=1, last=10), description="groups a bulk update names")
    layer_header: str | None = Field(None, description="response header naming the layer that served a read")
    layer_path: str | None = Field(None, description="JMESPath into a read's JSON body naming the layer that served it "
                                                     "(e.g. meta.cache), for services that say it in the body")
    layer_values: dict[str, LayerName] = Field(
        default_factory=dict, description="header value -> l1 | l2 | miss, for services with their own names")
    values: ValueEncoding = Field(default_factory=ValueEncoding,  # type: ignore[arg-type]
                                  description="how a write's unique value is spelled (versions from values)")
    bypass_headers: dict[str, str] = Field(
        default_factory=lambda: {"Cache-Control": "no-cache"},
        description="headers of the final reads that ask the service to skip its caches")
    read: HttpOperation | None = Field(None, description="read one key (required unless `python` is set)")
    write: HttpOperation | None = Field(None, description="write one key: {key}, {value} (the price writers)")
    bulk_update: BulkOperation | None = Field(None, description="write a group of keys: {group}, {value}, {percent} (the bulk sale)")
    order: HttpOperation | None = Field(None, description="buy: {key}, {qty}, {user}; 409 = out of stock (checkout)")
    cart_read: HttpOperation | None = Field(None, description="read a user's cart: {user}")
    cart_write: HttpOperation | None = Field(None, description="write a user's cart: {user}, {value}")
    python: str | None = Field(None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
                               description="module:Class of a Python adapter (instead of the HTTP operations)")
    path: str | None = Field(None, description="directory added to sys.path to import `python` (relative to the adapter file)")
    options: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the Python adapter's constructor")
    versions: Literal["reported", "derived"] | None = Field(
        None, description="Python adapter: `reported` when it returns versions, `derived` (default) when it returns values")
    operations: list[OperationName] | None = Field(
        None, description="Python adapter: the operations it implements (default: read and write)")

    @field_validator("layer_path")
    @classmethod
    def _layer_path(cls, expression: str | None) -> str | None:
        return _check_path(expression)

    @model_validator(mode="after")
    def _consistent(self) -> AdapterSpec:
        http = [name for name in PLACEHOLDERS if getattr(self, name) is not None]
        if self.python is None:
            if self.read is None:
                raise ValueError("an adapter needs `read` (or `python: module:Class`)")
            if self.versions is not None or self.operations is not None:
                raise ValueError("`versions` and `operations` belong to a Python adapter; an HTTP adapter says both through its operations")
        elif http:
            raise ValueError(f"a Python adapter declares no HTTP operations; drop {', '.join(http)} or `python`")
        for name in http:
            op: HttpOperation = getattr(self, name)
            unknown = op.placeholders() - PLACEHOLDERS[name]
            if unknown:
                raise ValueError(f"{name}: unknown placeholder {{{sorted(unknown)[0]}}}; "
                                 f"{name} may use {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS[name]))}")
        self._check_versions()
        return self

    def _check_versions(self) -> None:
        if self.python is not None:
            return
        assert self.read is not None
        if self.read.value is None and not self.read.versioned:
            raise ValueError("read: say where the response keeps the value (`value`) or a version (`version`/`version_header`)")
        derived = self.derives_versions
        for name in ("write", "cart_write"):
            op: HttpOperation | None = getattr(self, name)
            if op is not None and derived and "value" not in op.placeholders():
                raise ValueError(f"{name}: without versions in the answers every write must carry its unique {{value}}")
            if op is not None and not derived and not op.versioned:
                raise ValueError(f"{name}: read reports versions, so the write's answer must too (`version`/`version_header`)")
        bulk = self.bulk_update
        if bulk is not None and derived and "value" not in bulk.placeholders():
            raise ValueError("bulk_update: without versions it must write a unique {value} to the group")
        if bulk is not None and not derived and bulk.updated_versions is None:
            raise ValueError("bulk_update: read reports versions, so say where the answer lists them (`updated_versions`)")
        cart = self.cart_read
        if cart is not None and (cart.value is None if derived else not cart.versioned):
            raise ValueError("cart_read: say where the answer keeps the cart's " + ("value (`value`)" if derived else "version"))

    @property
    def derives_versions(self) -> bool:
        """True when versions come from unique written values rather than from the service."""
        if self.python is not None:
            return self.versions != "reported"
        assert self.read is not None
        return not self.read.versioned

    def implements(self, operation: str) -> bool:
        if self.python is not None:
            return operation in (self.operations or ["read", "write"])
        return getattr(self, operation, None) is not None

    def unmapped_actions(self, weights: dict[str, float]) -> list[str]:
        """The traffic mix's actions (with a positive weight) this adapter cannot send."""
        out = []
        for action, weight in weights.items():
            if weight <= 0:
                continue
            operation = ACTION_OPERATION.get(action)
            if operation is None or not self.implements(operation) or (action == "absent" and not isinstance(self.keys, KeyRange)):
                out.append(action)
        return out
