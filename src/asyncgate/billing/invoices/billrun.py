"""A bill run for one account: every charge rated up to a target date, gathered in one invoice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from asyncgate.billing.invoices.charges import Charge
from asyncgate.billing.invoices.money import round_amount
from asyncgate.billing.invoices.rating import InvoiceItem, rate_charge

# The most items one run puts on its invoice (more raise ``rating.TooManyItems``), as many as
# Zuora reverses or writes off on one invoice. Billing far ahead of a long term makes an item
# per period: 96,000 monthly ones kept a process busy for over a minute, rating, storing and
# answering them; 2,000 take about a second.
MAX_INVOICE_ITEMS = 2_000


@dataclass(frozen=True)
class Invoice:
    """An invoice's content; its number and storage belong to the caller. Taxes are not
    calculated: the tax amount is zero and the amount is the sum of the (rounded) items."""

    target_date: date
    currency: str
    items: tuple[InvoiceItem, ...]

    @property
    def amount_without_tax(self) -> Decimal:
        return sum((item.amount for item in self.items), round_amount(0, self.currency))

    @property
    def tax_amount(self) -> Decimal:
        return round_amount(0, self.currency)

    @property
    def amount(self) -> Decimal:
        return self.amount_without_tax + self.tax_amount


@dataclass(frozen=True)
class BillRun:
    """The invoice of a run (None when nothing was due) and each charge's charged-through date
    after it, by charge key: what the caller stores so the next run bills only what is new."""

    invoice: Invoice | None
    charged_through: Mapping[str, date | None]


def bill_charges(charges: Iterable[Charge], bill_cycle_day: int, target_date: date) -> BillRun:
    """Bills an account's charges up to ``target_date``: one invoice, items in the order of the
    charges and, within a charge, of service dates, at most ``MAX_INVOICE_ITEMS`` of them. The
    charges share one currency, the account's."""
    charges = tuple(charges)
    currencies = {charge.currency for charge in charges}
    if len(currencies) > 1:
        raise ValueError(f"one invoice has one currency, not {sorted(currencies)}")
    keys = [charge.key for charge in charges]
    if len(set(keys)) < len(keys):
        raise ValueError("charge keys must be unique")
    items: list[InvoiceItem] = []
    charged_through: dict[str, date | None] = {}
    for charge in charges:
        room = MAX_INVOICE_ITEMS - len(items)
        rated = rate_charge(charge, bill_cycle_day, target_date, at_most=room)
        items.extend(rated.items)
        charged_through[charge.key] = rated.charged_through
    invoice = Invoice(target_date, currencies.pop(), tuple(items)) if items else None
    return BillRun(invoice, charged_through)
