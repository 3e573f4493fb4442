"""The run summary's one-line traffic description marks the defaults a first experiment inherits."""

from __future__ import annotations

from cachechaos.traffic.spec import TrafficSpec


def test_defaults_are_marked_and_chosen_values_are_not() -> None:
    assert TrafficSpec.model_validate({}).describe().startswith("Zipf s=1.1 (default); mix browse 80, write_price 4")
    chosen = TrafficSpec.model_validate({"zipf_s": 0, "shape": {"kind": "arrival", "rate_per_s": 50},
                                         "mix": {"browse": 50, "write_price": 50, "checkout": 0, "cart_read": 0,
                                                 "cart_write": 0, "absent": 0}}).describe()
    assert chosen.startswith("Zipf s=0; mix browse 50, write_price 50; arrival") and "(default)" not in chosen
    assert "rate_per_s 50.0" in chosen
