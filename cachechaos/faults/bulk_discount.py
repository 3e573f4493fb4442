"""Black Friday: a bulk discount of whole categories, every written version recorded in the history."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cachechaos.faults.base import Fault, FaultParams, register
from cachechaos.runtime.target import NotControllable
from cachechaos.traffic.runner_client import RunnerClient


class BulkDiscountParams(FaultParams):
    type: Literal["bulk_discount"] = "bulk_discount"
    categories: list[int] | Literal["all"] = Field(description="category ids, or all")
    percent: float = Field(50.0, gt=0, lt=100)
    timeout_s: float = Field(30.0, gt=0)


@register
class BulkDiscount(Fault[BulkDiscountParams]):
    """POST /categories/{id}/discount through the backends, as the business would."""

    type = "bulk_discount"
    params_model = BulkDiscountParams
    one_shot = True

    @property
    def target_name(self) -> str:
        return "backends"

    def _categories(self) -> list[int]:
        if self.params.categories != "all":
            return list(self.params.categories)
        count = self.ctx.catalog_categories
        if not count:
            raise NotControllable("categories: all needs the catalogue size; name the categories")
        return list(range(1, count + 1))

    def inject(self) -> dict[str, Any]:
        backends = list(self.ctx.target.endpoints.backends.values())
        if not backends:
            raise NotControllable("no backend to send the discount to")
        if self.ctx.run_dir is None:
            raise RuntimeError("bulk_discount needs a run directory to record its writes")
        updated = failed = 0
        # The runner's recorded client: one DISCOUNT record plus one DISCOUNT_WRITE per rewritten product.
        with RunnerClient(self.ctx.run_dir, backends, timeout_s=self.params.timeout_s) as client:
            for i, category in enumerate(self._categories()):
                outcome = client.discount(category, self.params.percent, backend=i)
                if outcome.ok:
                    updated += max(0, outcome.version)
                else:
                    failed += 1
        if failed and not updated:
            raise RuntimeError(f"every discount request failed ({failed})")
        return {"products_updated": updated, "failed_requests": failed}
