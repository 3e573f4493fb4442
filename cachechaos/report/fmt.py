"""How figures read in the HTML report: units, percentages, nines, times (also the template filters)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

# Typographic dash and times sign, written as escapes so the source stays ASCII-unambiguous.
EMPTY = "\u2013"
TIMES = "\u00d7"
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def number(value: float | None, digits: int = 3) -> str:
    """Significant digits without scientific notation for everyday magnitudes."""
    if value is None:
        return EMPTY
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def percent(ratio: float | None) -> str:
    if ratio is None:
        return EMPTY
    pct = ratio * 100
    if pct >= 10:
        return f"{pct:.1f}".rstrip("0").rstrip(".") + "%"
    return f"{pct:.3g}%"


def measured(value: float | None, unit: str) -> str:
    """A check's headline figure in its unit; None is a result ('not measured'), not an error."""
    if value is None:
        return "not measured"
    if unit == "ratio":
        return percent(value)
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "x":
        return f"{number(value)}{TIMES}"
    return f"{number(value)} {unit}".strip()


def threshold(text: str | None, unit: str) -> str:
    """Criterion bounds such as '<= 0.01' read as '≤ 1%' for ratios."""
    if not text:
        return EMPTY
    out = text.replace("<=", "≤").replace(">=", "≥")
    if unit == "ratio":
        out = _NUMBER.sub(lambda m: percent(float(m.group())), out)
    return out


def fresh(fraction: float | None) -> str:
    """The fresh share, truncated rather than rounded: 0.02% stale reads 99.97%, never 100%."""
    if fraction is None:
        return EMPTY
    if fraction <= 0:
        return "100%"
    decimals = max(1, math.floor(-math.log10(fraction)) - 1)
    scale = 10 ** decimals
    text = f"{math.floor((1.0 - fraction) * 100 * scale + 1e-9) / scale:.{decimals}f}"
    return text.rstrip("0").rstrip(".") + "%" if "." in text else text + "%"


def nines(fraction: float | None) -> str:
    """Freshness as nines: a stale fraction of 0.001 is 99.9% fresh, three nines."""
    if fraction is None:
        return EMPTY
    if fraction <= 0:
        return "∞"
    return f"{-math.log10(fraction):.1f}"


def clock(t: float | None) -> str:
    if t is None:
        return EMPTY
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def offset(t: float | None, start: float) -> str:
    """Seconds since the run started, as the charts' x axes show them."""
    if t is None:
        return EMPTY
    return f"t+{t - start:.1f} s"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return EMPTY
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def params(values: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (values or {}).items())


FILTERS = {
    "number": number, "percent": percent, "measured": measured, "threshold": threshold, "nines": nines, "fresh": fresh,
    "clock": clock, "duration": duration, "params": params,
}


def matrix_cell_text(cell: dict[str, Any]) -> str:
    """One matrix cell: variant, runs as expected, range of the named criterion, signed margin."""
    unit = str(cell.get("unit") or "")
    rng = cell.get("range")
    if rng is None:
        spread = "not measured"
    elif rng[0] == rng[1]:
        spread = measured(rng[0], unit)
    else:
        spread = f"{measured(rng[0], unit)} .. {measured(rng[1], unit)}"
    margin = cell.get("margin")
    margin_text = EMPTY if margin is None else ("+" if margin >= 0 else "-") + measured(abs(margin), unit)
    variant = cell.get("variant") or "default"
    unmeasured = f", {cell['unmeasured']} unmeasured" if cell.get("unmeasured") else ""
    return f"{variant}: {cell['as_expected']}/{cell['runs']} as expected; {spread}{unmeasured}; margin {margin_text}"
