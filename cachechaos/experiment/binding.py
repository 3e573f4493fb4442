"""A checklist row bound to a service cachechaos attaches to (kind external or compose).

The packaged rows are written against the sample backend: its runtime settings (catalog sizes,
Redis memory), its configuration variants, its link names and a rate this machine's sample
backend holds. On a user's service none of that is theirs. Bound, a row keeps its traffic shape,
phases, faults and criteria, and takes from the topology:

- the links its faults act on, by role (`toxiproxy.links`: database, redis, sentinel, invalidation,
  per backend where it has them; a partition takes every role), and
  the Redis keys they touch (`cache.key_template`: `product:7` becomes `item:7`);
- the bounds of criteria that name a service level (`slo:` on a criterion, the topology's `slo:`);
  the freshness criterion's window is the topology's `cache.freshness_budget_s`, and a recovery
  is observed for as long as its bound (else a recovery slower than the row's phase but within
  the bound would read as "never recovered");
- the arrival rate (`load.rate_per_s`, or the row's own in `load.rows`), so a gate never floods a
  staging service by surprise;
- the parameters a criterion is judged with on an attached service (`on_attached`: a hot key's hit
  rate over every layer, for a service whose own in-process layer keeps it);
- a failover time over writes that never failed: 0 s (the service's carts may not live in Redis,
  as the sample backend's do in that row), not "no effect";
- the floor of a DB-amplification baseline: one query per key the row expires and backend, the
  burst a service with single flight cannot avoid, which over the near-idle database of a
  well-cached service would otherwise read as a stampede.

Criteria and traffic actions the target cannot serve (cachechaos.applicability) are left out,
and the run's notes say so.
"""

from __future__ import annotations

from typing import Any

from cachechaos.applicability import (
    ACTION_NEEDS,
    Offer,
    RowApplicability,
    criterion_needs,
    fault_needs,
    line,
    link_role,
)
from cachechaos.checks.criteria import Criterion
from cachechaos.experiment.model import ExperimentSpec
from cachechaos.runtime.compose_spec import ComposeTopologySpec
from cachechaos.runtime.external_spec import AttachedTopologySpec, ExternalTopologySpec, ServiceLevels

# Arrival shapes and their rate fields: a bound row's peak rate is the topology's load.rate_per_s.
_RATE_FIELDS = ("rate_per_s", "start_rate_per_s", "end_rate_per_s", "base_rate_per_s", "spike_rate_per_s")
# How long the freshness row measures beyond its budget: a read can only be stale past the budget
# once a write is older than it.
FRESHNESS_MARGIN_S = 15.0
# What a recovery row observes beyond its bound and hold: the fault's own time (a restart of every
# backend takes seconds) before the clock starts.
RECOVERY_MARGIN_S = 10.0


def slo_bound(name: str, slo: ServiceLevels) -> dict[str, float]:
    """The bound a criterion's `slo:` stands for: a floor for the hit rate, a ceiling for the rest."""
    if name == "hit_rate":
        return {"min": slo.hit_rate}
    value = slo.stale_reads if name == "freshness" else float(getattr(slo, name))
    return {"max": value}


def _links(topology: AttachedTopologySpec) -> dict[str, str]:
    proxy = getattr(topology, "toxiproxy", None)
    return dict(proxy.links) if proxy is not None else {}


def bind_row(spec: ExperimentSpec, topology: AttachedTopologySpec, applicability: RowApplicability) -> ExperimentSpec:
    """`spec` as it runs against `topology` (see the module docstring); the row must be applicable."""
    data: dict[str, Any] = spec.model_dump(mode="json", exclude_unset=True)
    for key in ("target", "backend", "variants"):  # the sample backend's runtime and configurations
        data.pop(key, None)
    if data.get("detection"):
        data["detection"].get("control", {}).pop("variant", None)
    traffic = data.setdefault("traffic", {})
    shape = traffic.get("shape")
    if shape and any(f in shape for f in _RATE_FIELDS):
        peak = max(float(shape[f]) for f in _RATE_FIELDS if f in shape)
        rate = topology.load.rate_of(spec.name)
        for f in _RATE_FIELDS:
            if f in shape and peak > 0:
                shape[f] = float(shape[f]) * rate / peak
    if applicability.dropped_actions:
        mix = spec.traffic.mix.model_dump()
        mix.update({a: 0 for a in applicability.dropped_actions})
        traffic["mix"] = mix
    links = _links(topology)
    for phase in data["phases"]:
        for fault in phase.get("faults", []):
            role = link_role(str(fault["link"])) if "link" in fault else None
            if role is not None and role in links:
                fault["link"] = links[role]
            if fault["type"] == "partition":  # it cuts several roles' proxies: Redis's and the Sentinels', per backend
                fault["links"] = {r: p for r, p in links.items() if r.partition(".")[0] in ("redis", "sentinel")}
            if fault.get("keys") and topology.cache.key_template is not None:
                fault["keys"] = [_user_key(k, topology.cache.key_template) for k in fault["keys"]]
    budget = topology.cache.freshness_budget()
    criteria = []
    for written, criterion in zip(spec.criteria, data.get("criteria", []), strict=True):
        if written.label in applicability.dropped_criteria:
            continue
        label = written.label
        attached = criterion.pop("on_attached", None)
        if attached:
            criterion.setdefault("params", {}).update(attached)
            label = _rename(data, criterion, label, ", ".join(f"{k}={v}" for k, v in attached.items()))
        slo = criterion.get("slo")
        if slo is not None:
            criterion.pop("max", None)
            criterion.pop("min", None)
            bound = slo_bound(slo, topology.slo)
            criterion.update(bound)
            # The written name states the sample backend's bound: say the one that applies.
            (side, value), = bound.items()
            label = _rename(data, criterion, label, f"slo.{'stale_reads' if slo == 'freshness' else slo} "
                                                    f"{'>=' if side == 'min' else '<='} {value:g}")
        if written.label in applicability.from_counters:
            criterion.setdefault("params", {})["source"] = "metrics"
        if criterion["check"] == "failover_time":
            criterion.setdefault("params", {}).setdefault("unaffected_passes", True)
        if criterion["check"] == "db_amplification":
            criterion.setdefault("params", {}).setdefault("floor_qps", float(_expired_keys(spec) * _backend_count(topology)))
        if slo == "freshness":
            criterion.setdefault("params", {})["window_s"] = budget
            _measure_past(data["phases"], criterion["params"].get("phase"), budget + FRESHNESS_MARGIN_S)
        if slo == "recovery_s" and criterion["check"] == "recovery_time":
            params = criterion.get("params", {})
            _observe_recovery(data["phases"], params.get("after"),
                              topology.slo.recovery_s + float(params.get("hold_s", 5.0)) + RECOVERY_MARGIN_S)
        criteria.append(criterion)
    data["criteria"] = criteria
    return ExperimentSpec.model_validate(data)


def _rename(data: dict[str, Any], criterion: dict[str, Any], label: str, said: str) -> str:
    """Name the bound criterion for what it judges now (`label [said]`), in the detection too; the new name."""
    criterion["name"] = f"{label} [{said}]"
    if (data.get("detection") or {}).get("criterion") == label:
        data["detection"]["criterion"] = criterion["name"]
    return str(criterion["name"])


def _backend_count(topology: AttachedTopologySpec) -> int:
    return len(topology.backends) if isinstance(topology, (ExternalTopologySpec, ComposeTopologySpec)) else 1


def _expired_keys(spec: ExperimentSpec) -> int:
    """How many keys the row's faults expire, over all its phases."""
    return sum(len(getattr(f, "keys", None) or ()) for p in spec.phases for f in p.faults if f.type == "expire_keys")


def _measure_past(phases: list[dict[str, Any]], name: str | None, seconds: float) -> None:
    """The measured phase (`name`, else the last) lasts `seconds`: past the window, and no longer."""
    phase = next((p for p in phases if p["name"] == name), phases[-1])
    phase["duration_s"] = seconds


def _observe_recovery(phases: list[dict[str, Any]], after: str | None, seconds: float) -> None:
    """The phase of the fault a recovery follows (by type or id, else the last) lasts at least `seconds`."""
    phase = next((p for p in phases for f in p.get("faults", []) if after in (f.get("type"), f.get("id"))), phases[-1])
    phase["duration_s"] = max(float(phase["duration_s"]), seconds)


def _user_key(sample_key: str, template: str) -> str:
    """`product:7` (the sample backend's key of product 7) as the user's service names it."""
    _, _, product = sample_key.rpartition(":")
    return template.replace("{key}", product)


def row_applicability(spec: ExperimentSpec, offer: Offer) -> RowApplicability:
    """Match a row's declarations against a target's offer (see the module docstring)."""
    missing: set[str] = set()
    for phase in spec.phases:
        for fault in phase.faults:
            missing.update(offer.lacks(fault_needs(fault)))
    mechanism = spec.detection.criterion if spec.detection else None
    kept, dropped, left_out, from_counters = [], [], [], []
    for criterion in spec.criteria:
        lacks = offer.lacks(criterion_needs(criterion))
        if lacks and counters_serve(criterion, offer):
            from_counters.append(criterion.label)
            left_out.append(f"criterion {criterion.label!r} reads the {criterion.params.get('layer')} hit rate from "
                            "your counters (metrics:), not from the layer of each read")
            lacks = []
        if not lacks:
            kept.append(criterion)
        elif criterion.label == mechanism:
            missing.update(lacks)
        else:
            dropped.append(criterion.label)
            left_out.append(f"criterion {criterion.label!r} left out: " + "; ".join(line(n) for n in lacks))
    if spec.criteria and not kept:
        missing.update(n for c in spec.criteria for n in offer.lacks(criterion_needs(c)))
    actions = []
    weights = spec.traffic.mix.model_dump()
    for action, weight in weights.items():
        need = ACTION_NEEDS.get(action)
        if weight > 0 and need is not None and offer.lacks([need]):
            actions.append(action)
            left_out.append(f"traffic action {action} left out: {line(need)}")
    if all(w <= 0 for a, w in weights.items() if a not in actions):
        missing.update(ACTION_NEEDS[a] for a in actions)
    if missing:
        return RowApplicability(spec.name, False, [line(n) for n in sorted(missing)])
    return RowApplicability(spec.name, True, [], left_out, dropped, actions, from_counters)


def counters_serve(criterion: Criterion, offer: Offer) -> bool:
    """Whether a hit rate the row reads from each read's layer can be read from the target's hit and miss
    counters instead: the layer's counters are there (not the hot keys of one run: counters have no keys)."""
    params = criterion.params
    return (criterion.check == "hit_rate" and params.get("source", "history") == "history"
            and params.get("layer") in ("l1", "l2") and params.get("hot_keys") is None
            and not offer.lacks([f"{params['layer']}_counters"]))
