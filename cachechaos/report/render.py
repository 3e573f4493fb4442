"""Rendering a report page: Jinja templates with the vendored assets inlined, so the file stands alone."""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from cachechaos import __version__
from cachechaos.report import fmt

# Inlined in this order; a report needs nothing but itself to open (no CDN, no web fonts).
STYLES = ("uPlot.min.css", "report.css")
SCRIPTS = ("uPlot.iife.min.js", "report.js")


@cache
def asset(name: str) -> str:
    return (resources.files("cachechaos.report") / "assets" / name).read_text(encoding="utf-8")


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("cachechaos.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fmt.FILTERS)
    return env


def _finite(value: Any) -> Any:
    """NaN and infinities are not JSON: they become null (a gap on a chart)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def script_json(data: Any) -> str:
    """JSON safe inside <script>: no '</' can close the element early."""
    return json.dumps(_finite(data), separators=(",", ":"), default=str, allow_nan=False).replace("</", "<\\/")


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(
        styles="\n".join(asset(n) for n in STYLES),
        scripts=[asset(n) for n in SCRIPTS],
        toolkit_version=__version__,
        **context,
    )


