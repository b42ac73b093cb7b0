"""A charge to rate, with the fields a test does not care about filled in."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from asyncgate.billing.invoices.charges import Charge, ChargeType, RestChargeModel
from asyncgate.billing.invoices.periods import BillingPeriod


def recurring(price: str = "100", **fields: Any) -> Charge:
    """A monthly USD flat fee starting 2024-01-01 unless ``fields`` say otherwise."""
    values: dict[str, Any] = {
        "key": "C-1",
        "charge_type": ChargeType.RECURRING,
        "model": RestChargeModel.FLAT_FEE,
        "price": Decimal(price),
        "currency": "USD",
        "start": date(2024, 1, 1),
        "billing_period": BillingPeriod.MONTH,
    }
    if "quantity" in fields:
        values["model"] = RestChargeModel.PER_UNIT
    return Charge(**(values | fields))


def one_time(price: str = "50", **fields: Any) -> Charge:
    return recurring(price, charge_type=ChargeType.ONE_TIME, billing_period=None, **fields)
