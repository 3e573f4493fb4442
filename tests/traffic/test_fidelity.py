"""Load fidelity (pure): the schedule drawn again from its seed against what the history shows was sent."""

from __future__ import annotations

from pathlib import Path

from cachechaos.history.columns import Columns
from cachechaos.history.format import Op, Record
from cachechaos.traffic.arrivals import arrival_offsets, schedule_rng
from cachechaos.traffic.config import CatalogModel, ProcessConfig
from cachechaos.traffic.fidelity import load_fidelity
from cachechaos.traffic.spec import ArrivalShape, TrafficSpec

T0 = 1_700_000_000.0


def _config(tmp_path: Path, shape: dict[str, object]) -> ProcessConfig:
    spec = TrafficSpec.model_validate({"processes": 1, "shape": shape})
    return ProcessConfig(name="load-0", index=0, spec=spec, catalog=CatalogModel(products=10, categories=1, users=10),
                         backends=["http://127.0.0.1:1"], history_path=tmp_path / "h", stats_path=tmp_path / "s",
                         start_at=T0, duration_s=10, run_time_s=20, seed=42_000)


def _sent(cfg: ProcessConfig, lag_s: float = 0.0, keep: float = 1.0, drop_every: int = 0) -> Columns:
    assert isinstance(cfg.spec.shape, ArrivalShape)
    offsets = list(arrival_offsets(cfg.spec.shape, 1, cfg.duration_s, schedule_rng(cfg.seed)))
    out = []
    for i, off in enumerate(offsets[:int(len(offsets) * keep)]):
        due = T0 + off
        if drop_every and i % drop_every == 0:
            out.append(Record(due, due, int(Op.READ), -1, 0, 0, int(Op.DROPPED), 0, "load-0", due))
        else:
            out.append(Record(due + lag_s, due + lag_s + 0.001, 1, 1, 0, 200, int(Op.READ), 1, "load-0", due))
    return Columns.from_records(out)


def test_a_load_delivered_as_scheduled_is_ok(tmp_path: Path) -> None:
    cfg = _config(tmp_path, {"kind": "arrival", "rate_per_s": 100})
    history = _sent(cfg, lag_s=0.0002)
    fidelity = load_fidelity([cfg], history)
    assert fidelity is not None and fidelity.ok and fidelity.model == "open"
    doc = fidelity.to_dict()
    assert doc["due"] == doc["sent"] == len(history) and doc["dropped"] == doc["missing"] == 0
    assert abs(doc["processes"][0]["lag_p50_ms"] - 0.2) < 1e-3  # float64 unix seconds: ~0.1 µs steps


def test_missing_arrivals_beyond_ten_percent_are_a_problem(tmp_path: Path) -> None:
    cfg = _config(tmp_path, {"kind": "arrival", "rate_per_s": 100})
    assert load_fidelity([cfg], _sent(cfg, keep=0.92)).ok  # 8% behind: within the limit
    short = load_fidelity([cfg], _sent(cfg, keep=0.85))
    assert short is not None and not short.ok
    assert "behind" in short.problems[0] and short.to_dict()["missing"] > 0


def test_any_dropped_arrival_is_a_problem(tmp_path: Path) -> None:
    cfg = _config(tmp_path, {"kind": "arrival", "rate_per_s": 100, "spacing": "uniform"})
    fidelity = load_fidelity([cfg], _sent(cfg, drop_every=100))
    assert fidelity is not None and not fidelity.ok
    doc = fidelity.to_dict()
    assert doc["dropped"] == 10 and doc["sent"] + doc["dropped"] == doc["due"] == 1_000
    assert "dropped" in fidelity.problems[0]


def test_a_closed_model_has_nothing_due(tmp_path: Path) -> None:
    cfg = _config(tmp_path, {"kind": "steady", "users": 3})
    history = Columns.from_records([Record(T0 + i, T0 + i + 0.01, 1, 1, 0, 200, int(Op.READ), 1, "load-0")
                                    for i in range(5)])
    fidelity = load_fidelity([cfg], history)
    assert fidelity is not None and fidelity.ok and fidelity.to_dict()["due"] is None
    assert load_fidelity([], history) is None
