"""A subscription charge as billing sees it: what it costs, from when, and how far it is billed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from fractions import Fraction

from asyncgate.billing.invoices.money import minor_units
from asyncgate.billing.invoices.periods import BillingPeriod


class ChargeType(Enum):
    ONE_TIME = "OneTime"
    RECURRING = "Recurring"


class RestChargeModel(Enum):
    """A charge model as the REST API writes it and subscription charges store it; the
    catalog's ``ChargeModel`` holds the object API's spelling (``Flat Fee Pricing``)."""

    FLAT_FEE = "FlatFee"
    PER_UNIT = "PerUnit"


@dataclass(frozen=True)
class Charge:
    """One charge of a subscription, with Zuora's dates.

    ``key`` is the caller's own reference (a charge number or ID), passed through to invoice
    items and metrics. ``price`` is the flat fee or, for ``PerUnit``, the price of one unit; it
    is never rounded. ``start`` is the effective start date (the contract effective date
    triggers the charge). ``end`` is the effective end date, exclusive: the term end, or the
    date of a cancellation or removal; None for an evergreen charge. ``charged_through`` is the
    day after the last billed day (Zuora's ``chargedThroughDate``), None before the first bill.
    """

    key: str
    charge_type: ChargeType
    model: RestChargeModel
    price: Decimal
    currency: str
    start: date
    billing_period: BillingPeriod | None = None
    quantity: Decimal | None = None
    end: date | None = None
    charged_through: date | None = None

    def __post_init__(self) -> None:
        minor_units(self.currency)
        if not isinstance(self.price, Decimal):
            raise TypeError(f"a price is a Decimal, not {type(self.price).__name__}")
        if (self.billing_period is None) != (self.charge_type is ChargeType.ONE_TIME):
            raise ValueError("recurring charges, and only they, have a billing period")
        if self.model is RestChargeModel.PER_UNIT:
            if not isinstance(self.quantity, Decimal) or self.quantity < 0:
                raise ValueError("a PerUnit charge has a quantity: a Decimal of zero or more")
        elif self.quantity is not None:
            raise ValueError("a FlatFee charge has no quantity")
        if self.end is not None and self.end < self.start:
            raise ValueError("a charge cannot end before it starts")

    @property
    def billed_past_end(self) -> bool:
        """Billed beyond its end date: cancelled or removed after it was billed."""
        if self.end is None or self.charged_through is None:
            return False
        return self.charged_through > self.end

    @property
    def billed_quantity(self) -> Decimal:
        """The quantity an invoice item shows: the units of a PerUnit charge, 1 for a flat fee."""
        return Decimal(1) if self.quantity is None else self.quantity

    @property
    def period_amount(self) -> Fraction:
        """The exact amount of one full billing period (of the charge itself, if one-time)."""
        return Fraction(self.price) * Fraction(self.billed_quantity)
