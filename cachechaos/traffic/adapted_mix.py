"""The traffic mix against an adapter: actions it cannot send leave the mix, with a message."""

from __future__ import annotations

from cachechaos.adapters.model import ACTION_OPERATION, AdapterSpec, KeyRange
from cachechaos.traffic.spec import TrafficSpec


def adapt_traffic(spec: TrafficSpec, adapter: AdapterSpec) -> tuple[TrafficSpec, list[str]]:
    """The traffic spec with the unmapped actions' weights at 0, and one message per action left out.

    ValueError when nothing of the mix is left."""
    weights = spec.mix.weights()
    left_out = adapter.unmapped_actions(weights)
    if not left_out:
        return spec, []
    messages = []
    for action in left_out:
        operation = ACTION_OPERATION.get(action, action)
        why = ("its keys are a list, so no key is known to be absent" if action == "absent" and not isinstance(adapter.keys, KeyRange)
               else f"the adapter maps no `{operation}`")
        messages.append(f"traffic: {action} (weight {weights[action]:g}) left out of the mix: {why}")
    if all(weights[a] <= 0 for a in weights if a not in left_out):
        raise ValueError("the adapter maps none of the traffic mix's actions: " + "; ".join(messages))
    mix = spec.mix.model_copy(update={action: 0.0 for action in left_out})
    return spec.model_copy(update={"mix": mix}), messages
