"""Every report opened in headless Chromium: no console error, no request but the file, every chart drawn.

Chromium is required (not skipped): CI installs it with `apt-get install -y chromium`.
Screenshots land in test-artifacts/report-<case>.png for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cachechaos.checks.criteria import Criterion, evaluate
from cachechaos.checks.rundata import RunData
from cachechaos.store.files import read_json
from cachechaos.store.rundir import RUN_FILE
from tests.report.browser import Chromium, Page

# Per chart: its canvas, and how many pixels carry the colour of its first series (the line or bars
# really drawn, not just axes and grid).
CHART_STATE = """
(() => {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const specs = Object.fromEntries(data.charts.map(c => [c.id, c]));
  const hex = h => [1, 3, 5].map(i => parseInt(h.slice(i, i + 2), 16));
  return {
    placeholders: document.querySelectorAll("[data-chart]").length,
    charts: window.__reportCharts.map(c => {
      const spec = specs[c.id];
      const color = hex(spec.kind === "timeline" ? spec.series[0].color : "#0072B2");
      const canvas = c.el.querySelector("canvas");
      const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let ink = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3] > 200 && Math.abs(px[i] - color[0]) < 40 && Math.abs(px[i + 1] - color[1]) < 40
            && Math.abs(px[i + 2] - color[2]) < 40) ink++;
      }
      return {id: c.id, kind: c.kind, width: canvas.width, height: canvas.height, ink,
              series: c.u.series.length - 1, points: c.u.data[1].filter(v => v != null).length};
    }),
  };
})()
"""
VERDICT_ROWS = """
[...document.querySelectorAll("#verdicts tr[data-verdict]")].map(tr => ({
  name: tr.dataset.verdict, passed: tr.dataset.passed === "true",
  badge: tr.querySelector(".badge").textContent.trim(),
  cells: [...tr.querySelectorAll("td")].map(td => td.textContent.trim()),
}))
"""


def _assert_clean(page: Page) -> None:
    log = page.log()
    assert log.console_errors == [], log.console_errors
    assert log.requests == [page.url], f"requests besides the report itself: {log.requests}"
    assert log.failed_requests == []


def _assert_charts_drawn(page: Page, at_least: int) -> list[dict[str, Any]]:
    state = page.evaluate(CHART_STATE)
    charts = state["charts"]
    assert len(charts) == state["placeholders"] >= at_least
    for c in charts:
        assert c["width"] > 200 and c["height"] > 100, c
        assert c["series"] >= 1 and c["points"] > 0, c
        assert c["ink"] > 30, f"chart {c['id']} has no visible series: {c}"
    return charts


def _expected_verdicts(run_dir: Path) -> list[tuple[str, bool]]:
    summary = read_json(run_dir / "summary.json")
    if summary:
        return [(v["name"], bool(v["passed"])) for v in summary["verdicts"]]
    criteria = read_json(run_dir / RUN_FILE)["experiment"]["spec"]["criteria"]
    return [(v.name, v.passed) for v in evaluate(RunData.load(run_dir), [Criterion.model_validate(c) for c in criteria])]


@pytest.mark.parametrize("case", ["passing", "failing", "interrupted"])
def test_run_report_in_the_browser(browser: Chromium, run_dirs: dict[str, Path], artifacts: Path, case: str) -> None:
    run_dir = run_dirs[case]
    page = browser.open(run_dir / "index.html")
    try:
        _assert_clean(page)
        charts = _assert_charts_drawn(page, at_least=10)
        ids = [c["id"] for c in charts]
        for expected in ("rps", "latency_p99", "latency_p50", "hit_rate", "db_qps", "stale_reads", "errors",
                         "redis_roles", "stale_ages"):
            assert expected in ids
        assert any(i.startswith("recovery_") for i in ids)
        rows = page.evaluate(VERDICT_ROWS)
        assert [(r["name"], r["passed"]) for r in rows] == _expected_verdicts(run_dir)
        assert all(r["badge"] == ("PASS" if r["passed"] else "FAIL") for r in rows)
        banner = page.evaluate("document.getElementById('status-banner').textContent")
        assert {"passing": "PASSED", "failing": "FAILED", "interrupted": "INTERRUPTED"}[case] in banner
        page.screenshot(artifacts / f"report-{case}.png")
    finally:
        page.close()


def test_zooming_one_timeline_zooms_them_all(browser: Chromium, run_dirs: dict[str, Path]) -> None:
    page = browser.open(run_dirs["passing"] / "index.html")
    try:
        ranges = page.evaluate("""
          (async () => {
            // uPlot applies scale changes in a microtask: wait a tick before reading them.
            const tick = () => new Promise(resolve => setTimeout(resolve, 30));
            const t = window.__reportCharts.filter(c => c.kind === "timeline");
            t[2].u.setScale("x", {min: 20, max: 40});
            await tick();
            const zoomed = t.map(c => [c.u.scales.x.min, c.u.scales.x.max]);
            document.querySelector("[data-action=reset-zoom]").click();
            await tick();
            return {zoomed, reset: t.map(c => [c.u.scales.x.min, c.u.scales.x.max])};
          })()
        """)
        assert all(r == [20, 40] for r in ranges["zoomed"])
        assert all(r[0] == 0 and r[1] > 80 for r in ranges["reset"])
        _assert_clean(page)
    finally:
        page.close()


def test_printed_charts_fit_the_page(browser: Chromium, run_dirs: dict[str, Path], artifacts: Path) -> None:
    """At the width of an A4 page's printable area, with print styles, no chart runs off the page."""
    page = browser.open(run_dirs["failing"] / "index.html", width=718, media="print")
    try:
        overflow = page.evaluate("""
          [...document.querySelectorAll(".chart canvas")]
            .map(c => c.getBoundingClientRect().right)
            .filter(right => right > document.documentElement.clientWidth + 1)
        """)
        assert overflow == []
        pdf = page.pdf(artifacts / "report-failing.pdf")
        assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
        _assert_clean(page)
    finally:
        page.close()


def test_suite_report_in_the_browser(browser: Chromium, suite_dir: Path, artifacts: Path) -> None:
    page = browser.open(suite_dir / "index.html")
    try:
        _assert_clean(page)
        links = page.evaluate("[...document.querySelectorAll('#suite-runs a')].map(a => a.getAttribute('href'))")
        summary = read_json(suite_dir / "summary.json")
        assert links == [f"{r['run_dir']}/index.html" for r in summary["runs"]]
        cells = page.evaluate("[...document.querySelectorAll('#scorecard td[data-variant]')].map(td => [td.closest('tr').dataset.experiment, td.dataset.variant, td.dataset.status])")
        assert sorted(map(tuple, cells)) == sorted((r["experiment"], r["variant"], r["status"]) for r in summary["runs"])
        page.screenshot(artifacts / "report-suite.png")
    finally:
        page.close()
    # A run report reached from the suite opens as cleanly as a run of its own.
    page = browser.open(suite_dir / links[1])
    try:
        _assert_clean(page)
        _assert_charts_drawn(page, at_least=10)
    finally:
        page.close()
