"""The HTML report as a file: content, verdicts, interrupted runs, redaction, self-containment, CLI."""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cachechaos.checks.criteria import Criterion, evaluate
from cachechaos.checks.rundata import RunData
from cachechaos.report import fmt
from cachechaos.report.cli import report
from cachechaos.report.html import build_run_report, build_suite_report
from cachechaos.report.rundirs import NotARunDirectory
from cachechaos.report.timelines import downsample
from cachechaos.store.files import read_json, write_json
from cachechaos.store.journal import Journal
from cachechaos.store.rundir import JOURNAL_FILE, RUN_FILE
from tests.report.synthetic import SECRET, T0, Scenario, write_run


class _Doc(HTMLParser):
    """Just enough of the DOM for assertions: verdict rows, links, the embedded data, banner."""

    def __init__(self) -> None:
        super().__init__()
        self.verdicts: list[dict[str, str]] = []
        self.links: list[str] = []
        self.external: list[str] = []
        self.banner: str | None = None
        self.sections: list[str] = []
        self.charts: list[str] = []
        self._in_data = False
        self.data_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "tr" and "data-verdict" in a:
            self.verdicts.append({"name": a["data-verdict"], "passed": a["data-passed"]})
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        for key in ("src", "href"):
            if key in a and re.match(r"^(https?:)?//", a[key]):
                self.external.append(a[key])
        if tag in ("link", "img", "iframe", "object", "embed"):
            self.external.append(f"<{tag}>")
        if a.get("id") == "status-banner":
            self.banner = a.get("data-status")
        if tag == "section" and "id" in a:
            self.sections.append(a["id"])
        if "data-chart" in a:
            self.charts.append(a["data-chart"])
        if tag == "script" and a.get("id") == "report-data":
            self._in_data = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_data = False

    def handle_data(self, data: str) -> None:
        if self._in_data:
            self.data_text += data


def parse(path: Path) -> _Doc:
    doc = _Doc()
    doc.feed(path.read_text(encoding="utf-8"))
    return doc


def data_of(doc: _Doc) -> dict[str, Any]:
    return json.loads(doc.data_text)


# -- runs ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case,banner", [("passing", "passed"), ("failing", "failed"), ("interrupted", "interrupted")])
def test_banner_and_verdicts_match_the_summary(run_dirs: dict[str, Path], case: str, banner: str) -> None:
    run_dir = run_dirs[case]
    doc = parse(run_dir / "index.html")
    assert doc.banner == banner
    summary = read_json(run_dir / "summary.json")
    if case == "interrupted":
        assert not (run_dir / "summary.json").exists()
        # Provisional verdicts: the experiment's criteria from run.json, evaluated on what was recorded.
        spec = read_json(run_dir / RUN_FILE)["experiment"]["spec"]
        expected = evaluate(RunData.load(run_dir), [Criterion.model_validate(c) for c in spec["criteria"]])
        assert [(v["name"], v["passed"]) for v in doc.verdicts] == [(e.name, str(e.passed).lower()) for e in expected]
        assert "Provisional" in (run_dir / "index.html").read_text()
    else:
        assert [(v["name"], v["passed"]) for v in doc.verdicts] == [
            (v["name"], str(v["passed"]).lower()) for v in summary["verdicts"]]
    assert len(doc.verdicts) == 4


def test_failing_run_shows_what_failed_and_the_logs_of_the_nodes_involved(run_dirs: dict[str, Path]) -> None:
    html = (run_dirs["failing"] / "index.html").read_text()
    doc = parse(run_dirs["failing"] / "index.html")
    assert [v["passed"] for v in doc.verdicts].count("false") == 2
    assert {"verdicts", "happened", "timelines", "consistency", "recovery", "logs", "environment"} <= set(doc.sections)
    # redis-1 is named by the fault; backend-1's log has errors; postgres is neither.
    assert 'data-node="redis-1"' in html and 'data-node="backend-1"' in html
    assert 'data-node="postgres"' not in html and 'data-node="backend-2"' not in html
    assert "Connection refused" in html
    assert "never recovered within the run" in html


def test_passing_run_has_no_log_section(run_dirs: dict[str, Path]) -> None:
    doc = parse(run_dirs["passing"] / "index.html")
    assert "logs" not in doc.sections
    assert all(v["passed"] == "true" for v in doc.verdicts)


def test_timelines_cover_every_metric_with_faults_and_failover(run_dirs: dict[str, Path]) -> None:
    doc = parse(run_dirs["failing"] / "index.html")
    data = data_of(doc)
    ids = [c["id"] for c in data["charts"]]
    assert ids[:8] == ["rps", "latency_p99", "latency_p50", "hit_rate", "db_qps", "stale_reads", "errors", "redis_roles"]
    assert "stale_ages" in ids and any(i.startswith("recovery_") for i in ids)
    assert set(doc.charts) == set(ids)  # every chart has its place in the page
    ann = data["annotations"]
    assert [f["label"] for f in ann["faults"]] == ["kill-primary (redis_kill) → redis-1", "flushall (redis_flushall) → redis-2"]
    assert ann["faults"][1]["one_shot"] and not ann["faults"][0]["one_shot"]
    assert [m["label"] for m in ann["markers"]] == ["failover → redis-2"]
    assert [p["name"] for p in ann["phases"]] == ["baseline", "fault", "recovery"]
    hit = next(c for c in data["charts"] if c["id"] == "hit_rate")
    assert [s["label"].split(" ")[0] for s in hit["series"]] == ["L1", "L2", "L1"]
    latency = next(c for c in data["charts"] if c["id"] == "latency_p99")
    assert "GET /products/{id}" in [s["label"] for s in latency["series"]]
    for chart in data["charts"]:
        if chart["kind"] == "timeline":
            assert all(len(s["values"]) == len(chart["x"]) for s in chart["series"]), chart["id"]


def test_consistency_section_reports_windows_ages_layers_and_examples(run_dirs: dict[str, Path]) -> None:
    html = (run_dirs["failing"] / "index.html").read_text()
    table = html[html.index('id="stale-windows"'):html.index('id="stale-layers"')]
    assert [w for w in ("0 s", "1 s", "10 s", "60 s") if f"<td>{w}</td>" in table] == ["0 s", "1 s", "10 s", "60 s"]
    assert "L1 (in-process)" in html and "L2 (Redis)" in html
    examples = html[html.index('id="stale-examples"'):]
    assert examples.count("<tr>") >= 10


def test_interrupted_run_without_run_end_or_summary(run_dirs: dict[str, Path]) -> None:
    run_dir = run_dirs["interrupted"]
    assert read_json(run_dir / RUN_FILE)["status"] == "running"
    html = (run_dir / "index.html").read_text()
    assert "INTERRUPTED" in html and "no summary.json" in html
    assert "data recorded until t+55 s" in html
    assert "(did not end)" in html  # the fault phase was cut by the kill


def test_secrets_never_reach_the_report(run_dirs: dict[str, Path], suite_dir: Path) -> None:
    for path in [*(d / "index.html" for d in run_dirs.values()), suite_dir / "index.html"]:
        assert SECRET not in path.read_text(), path


def test_the_report_is_one_self_contained_file(run_dirs: dict[str, Path]) -> None:
    for run_dir in run_dirs.values():
        path = run_dir / "index.html"
        doc = parse(path)
        assert doc.external == []
        html = path.read_text()
        assert "@import" not in html and "@font-face" not in html
        assert re.search(r"url\(\s*['\"]?(https?:)?//", html) is None
        assert "default-src 'none'" in html  # the browser itself refuses any request
        assert "uPlot" in html
        assert path.stat().st_size < 1_000_000


def test_rebuilding_is_quick(run_dirs: dict[str, Path]) -> None:
    started = time.perf_counter()
    build_run_report(run_dirs["failing"])
    assert time.perf_counter() - started < 5.0


def test_run_with_only_a_journal_still_gets_a_report(tmp_path: Path) -> None:
    """Killed while bringing the target up: run.json and run_start, nothing else."""
    run_dir = tmp_path / "crashed-early"
    run_dir.mkdir()
    write_json(run_dir / RUN_FILE, {"run_id": "crashed-early", "status": "running", "started_at": T0,
                                    "experiment": {"name": "x", "purpose": "p", "spec": {"criteria": []}}})
    journal = Journal(run_dir / JOURNAL_FILE)
    journal.write("run_start", t=T0)
    journal.close()
    doc = parse(build_run_report(run_dir))
    assert doc.banner == "interrupted"
    assert doc.verdicts == []
    assert data_of(doc)["charts"] == []


def test_criteria_that_cannot_be_evaluated_leave_a_note(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "r", Scenario(duration_s=30, rps=50, interrupted_at=20.0))
    info = read_json(run_dir / RUN_FILE)
    info["experiment"]["spec"]["criteria"] = [{"check": "no_such_check", "max": 1}]
    write_json(run_dir / RUN_FILE, info)
    html = build_run_report(run_dir).read_text()
    assert "the criteria could not be evaluated" in html and 'id="verdicts-note"' in html


def test_not_a_run_directory(tmp_path: Path) -> None:
    with pytest.raises(NotARunDirectory, match="not a run directory"):
        build_run_report(tmp_path)


# -- suites -------------------------------------------------------------------------------------------

def test_suite_report_links_every_run_and_scores_variants(suite_dir: Path) -> None:
    path = suite_dir / "index.html"
    doc = parse(path)
    summary = read_json(suite_dir / "summary.json")
    run_links = [link for link in doc.links if link.endswith("/index.html")]
    expected = [f"{r['run_dir']}/index.html" for r in summary["runs"]]
    assert set(run_links) == set(expected)
    for link in run_links:
        assert not link.startswith(("/", "http")) and (suite_dir / link).is_file()
    html = path.read_text()
    score = html[html.index('id="scorecard"'):html.index('id="runs"')]
    assert score.count("<td data-variant=") == 4
    assert "<th>quorum-2</th><th>no-replica</th>" in score
    assert score.count("✓ as expected") == 3 and score.count("✗ expected fail") == 1
    assert doc.banner == "failed"


def test_suite_without_summary_is_rebuilt_from_its_runs(suite_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "suite"
    shutil.copytree(suite_dir, copy)
    (copy / "summary.json").unlink()
    for child in copy.iterdir():
        if child.is_dir():
            (child / "index.html").unlink()
    doc = parse(build_suite_report(copy))
    assert doc.banner == "interrupted"
    assert len([link for link in doc.links if link.endswith("/index.html")]) == 8  # scorecard + table
    assert all((child / "index.html").is_file() for child in copy.iterdir() if child.is_dir())


# -- CLI ----------------------------------------------------------------------------------------------

def test_cli_builds_a_run_report_and_prints_its_path(run_dirs: dict[str, Path]) -> None:
    result = CliRunner().invoke(report, [str(run_dirs["interrupted"])])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(run_dirs["interrupted"] / "index.html")


def test_cli_detects_a_suite(suite_dir: Path) -> None:
    result = CliRunner().invoke(report, [str(suite_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(suite_dir / "index.html")


@pytest.mark.parametrize("make", ["empty", "missing", "file"])
def test_cli_rejects_what_is_not_a_run_directory(tmp_path: Path, make: str) -> None:
    target = tmp_path / "x"
    if make == "empty":
        target.mkdir()
    elif make == "file":
        target.write_text("hello")
    result = CliRunner().invoke(report, [str(target)])
    assert result.exit_code == 2
    assert "not a run directory" in result.output or "does not exist" in result.output or "not a directory" in result.output


# -- formatting and downsampling ----------------------------------------------------------------------------

def test_figures_read_as_a_person_expects() -> None:
    assert fmt.threshold("<= 0.01", "ratio") == "≤ 1%"
    assert fmt.threshold("<= 120", "s") == "≤ 120"
    assert fmt.measured(0.0199, "ratio") == "1.99%"
    assert fmt.measured(None, "s") == "not measured"
    assert fmt.fresh(0.0002) == "99.98%" and fmt.fresh(0.000207) == "99.97%" and fmt.fresh(0.0) == "100%"
    assert fmt.nines(0.001) == "3.0" and fmt.nines(0) == "∞"


def test_downsampling_keeps_peaks_and_length() -> None:
    n = 7200
    chart = {"x": [float(i) for i in range(n)], "series": [
        {"values": [1.0] * n, "agg": "mean"},
        {"values": [0.0] * 5000 + [50.0] + [0.0] * (n - 5001), "agg": "max"},
        {"values": [None] * n, "agg": "mean"},
    ]}
    out = downsample(chart, max_points=1200)
    assert len(out["x"]) <= 1200 and all(len(s["values"]) == len(out["x"]) for s in out["series"])
    assert max(out["series"][1]["values"]) == 50.0
    assert set(out["series"][0]["values"]) == {1.0} and set(out["series"][2]["values"]) == {None}
    assert out["bucket_s"] == 6


@pytest.mark.parametrize("status,banner", [("error", "error"), ("aborted", "interrupted")])
def test_runs_that_ended_badly_say_so(tmp_path: Path, status: str, banner: str) -> None:
    run_dir = write_run(tmp_path / "r", Scenario(duration_s=30, rps=50))
    write_json(run_dir / "summary.json", {
        "run_id": "r", "experiment": "redis-primary-kill", "variant": None, "purpose": "p", "status": status,
        "exit_code": 3 if status == "error" else 130, "error": "the target did not come up: redis-1 refused connections",
        "expect": None, "started_at": T0, "ended_at": T0 + 30, "duration_s": 30.0, "verdicts": []})
    path = build_run_report(run_dir)
    doc = parse(path)
    assert doc.banner == banner and doc.verdicts == []
    html = path.read_text()
    assert "the target did not come up" in html and "no verdicts: the run did not finish" in html


def test_suite_report_shows_the_three_cell_matrix_with_margins(suite_dir: Path, tmp_path: Path) -> None:
    import shutil

    from cachechaos.experiment.matrix import matrix_rows
    from cachechaos.store.files import write_json

    copy = tmp_path / "matrix"
    shutil.copytree(suite_dir, copy)
    summary = read_json(copy / "summary.json")
    verdict = {"name": "stale", "passed": False, "measured": 0.05, "max": 0.01, "min": None, "threshold": "<= 0.01",
               "unit": "ratio", "details": {}}
    runs = [{"experiment": "race", "variant": "delete", "expect": "fail", "cell": "fault", "detects": "stale",
             "mechanism": "stale SET after DEL", "status": "failed", "exit_code": 1, "verdicts": [verdict],
             "run_dir": summary["runs"][0]["run_dir"]},
            {"experiment": "race", "variant": "lease", "expect": "pass", "cell": "fault", "detects": "stale",
             "status": "passed", "exit_code": 0, "verdicts": [{**verdict, "passed": True, "measured": 0.002}],
             "run_dir": summary["runs"][1]["run_dir"]}]
    write_json(copy / "summary.json", {**summary, "matrix": True, "repeat": 1, "runs": runs, "rows": matrix_rows(runs)})
    html = build_suite_report(copy).read_text()
    section = html[html.index('id="matrix-rows"'):html.index('id="scorecard"')]
    assert "delete: 1/1 as expected; 5%; margin +4%" in section
    assert "lease: 1/1 as expected; 0.2%; margin +0.8%" in section
    assert ">missing<" in section and 'data-ok="false"' in section  # no control cell: the row proves nothing


def test_other_checks_by_layer_details_do_not_break_the_report(run_dirs: dict[str, Path], tmp_path: Path) -> None:
    """hit_rate and key_redis_rate also carry `by_layer`, shaped otherwise: only stale reads get the layer line."""
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(run_dirs["passing"], run_dir)
    summary = read_json(run_dir / "summary.json")
    summary["verdicts"] += [
        {"name": "hot set", "check": "hit_rate", "params": {}, "threshold": ">= 0.9", "measured": 1.0, "unit": "ratio",
         "passed": True, "details": {"by_layer": {"l1": 0.5, "l2": 0.4, "any": 0.9}}},
        {"name": "hot key", "check": "key_redis_rate", "params": {}, "threshold": "<= 30", "measured": 1.2,
         "unit": "req/s", "passed": True, "details": {"by_layer": {"none": 0, "l1": 90, "l2": 3, "miss": 1}}},
    ]
    write_json(run_dir / "summary.json", summary)
    html = build_run_report(run_dir).read_text()
    assert 'data-verdict="hot set"' in html and 'data-verdict="hot key"' in html
    assert html.count("stale by serving layer") == sum(1 for v in summary["verdicts"] if v["check"] == "stale_read_rate"
                                                        and (v.get("details") or {}).get("by_layer"))


def test_the_summary_notes_reach_the_report(run_dirs: dict[str, Path], tmp_path: Path) -> None:
    """What the run could not see (a sampler source that failed, final reads through the API) is shown with the verdicts."""
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(run_dirs["passing"], run_dir)
    summary = read_json(run_dir / "summary.json")
    summary["notes"] = []
    write_json(run_dir / "summary.json", summary)
    assert 'id="run-notes"' not in build_run_report(run_dir).read_text()
    summary["notes"] = ["metrics: GET /metrics answered 404, so db_amplification was not measured"]
    write_json(run_dir / "summary.json", summary)
    html = build_run_report(run_dir).read_text()
    notes = html[html.index('id="run-notes"'):html.index('id="happened"')]
    assert "GET /metrics answered 404, so db_amplification was not measured" in notes
