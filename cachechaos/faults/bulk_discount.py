"""Black Friday: a bulk discount of whole categories, every written version recorded in the history."""

from __future__ import annotations

import time
from typing import Any, Literal

import httpx
from pydantic import Field

from cachechaos.faults.base import Fault, FaultParams, register
from cachechaos.history import HistoryWriter, Layer, Op
from cachechaos.runtime.target import NotControllable


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
        backends = self.ctx.target.endpoints.backends
        if not backends:
            raise NotControllable("no backend to send the discount to")
        if self.ctx.run_dir is None:
            raise RuntimeError("bulk_discount needs a run directory to record its writes")
        writer = HistoryWriter(self.ctx.run_dir / "history" / "runner.hist")
        updated = failed = 0
        try:
            with httpx.Client(timeout=self.params.timeout_s) as client:
                for i, category in enumerate(self._categories()):
                    url = f"{backends[i % len(backends)]}/categories/{category}/discount"
                    invoke = time.time()
                    try:
                        response = client.post(url, json={"percent": self.params.percent})
                        status = response.status_code
                    except httpx.HTTPError:
                        status = 0
                    complete = time.time()
                    writer.record(invoke, complete, Op.DISCOUNT, category, -1, Layer.NONE, status)
                    if status != 200:
                        failed += 1
                        continue
                    for row in response.json().get("updated", []):
                        writer.record(invoke, complete, Op.DISCOUNT_WRITE, int(row["id"]), int(row["version"]), Layer.NONE, status)
                        updated += 1
        finally:
            writer.close()
        if failed and not updated:
            raise RuntimeError(f"every discount request failed ({failed})")
        return {"products_updated": updated, "failed_requests": failed}
