"""A bill run: one invoice for an account's charges up to a target date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from asyncgate.billing.invoices.billrun import MAX_INVOICE_ITEMS, bill_charges
from asyncgate.billing.invoices.rating import TooManyItems
from tests.billing.invoices.support import one_time, recurring


class TestBillCharges:
    def test_one_invoice_holds_every_charge_due(self):
        charges = [recurring("100", key="C-1"), one_time("50", key="C-2", start=date(2024, 1, 1))]
        run = bill_charges(charges, 1, date(2024, 1, 1))
        assert run.invoice is not None
        assert run.invoice.target_date == date(2024, 1, 1)
        assert run.invoice.currency == "USD"
        assert [item.charge_key for item in run.invoice.items] == ["C-1", "C-2"]
        # 100.00 + 50.00
        assert run.invoice.amount == Decimal("150.00")
        assert run.invoice.amount_without_tax == Decimal("150.00")
        assert str(run.invoice.tax_amount) == "0.00"
        assert run.charged_through == {"C-1": date(2024, 2, 1), "C-2": date(2024, 1, 2)}

    def test_the_total_is_the_sum_of_rounded_items(self):
        # Two charges of 10.005 round to 10.01 each: the invoice is 20.02, not round(20.01).
        charges = [one_time("10.005", key="C-1"), one_time("10.005", key="C-2")]
        invoice = bill_charges(charges, 1, date(2024, 1, 1)).invoice
        assert invoice is not None
        assert invoice.amount == Decimal("20.02")

    def test_a_credit_lowers_the_total(self):
        # The cancelled charge gives back all of March (-100.00); the other bills April (100.00).
        cancelled = recurring(key="C-1", end=date(2024, 3, 1), charged_through=date(2024, 4, 1))
        running = recurring("100", key="C-2", charged_through=date(2024, 3, 1))
        invoice = bill_charges([cancelled, running], 1, date(2024, 3, 1)).invoice
        assert invoice is not None
        assert [item.amount for item in invoice.items] == [Decimal("-100.00"), Decimal("100.00")]
        assert invoice.amount == Decimal("0.00")

    def test_nothing_due_makes_no_invoice(self):
        charge = recurring(charged_through=date(2024, 2, 1))
        run = bill_charges([charge], 1, date(2024, 1, 20))
        assert run.invoice is None
        assert run.charged_through == {"C-1": date(2024, 2, 1)}

    def test_running_twice_with_the_same_target_date_bills_nothing_more(self):
        charges = [recurring(key="C-1"), one_time(key="C-2")]
        first = bill_charges(charges, 1, date(2024, 3, 1))
        billed = [
            recurring(key="C-1", charged_through=first.charged_through["C-1"]),
            one_time(key="C-2", charged_through=first.charged_through["C-2"]),
        ]
        again = bill_charges(billed, 1, date(2024, 3, 1))
        assert again.invoice is None
        assert again.charged_through == first.charged_through

    def test_yen_totals_have_no_decimals(self):
        invoice = bill_charges([recurring("1000", currency="JPY")], 1, date(2024, 1, 1)).invoice
        assert invoice is not None
        assert str(invoice.amount) == "1000"

    def test_one_invoice_has_one_currency(self):
        charges = [recurring(key="C-1"), recurring(key="C-2", currency="EUR")]
        with pytest.raises(ValueError, match="currency"):
            bill_charges(charges, 1, date(2024, 1, 1))

    def test_charge_keys_are_unique(self):
        with pytest.raises(ValueError, match="unique"):
            bill_charges([recurring(), recurring()], 1, date(2024, 1, 1))


class TestAtMostSoManyItems:
    """One run bills at most ``MAX_INVOICE_ITEMS`` items, whatever its charges."""

    def test_a_run_may_bill_as_many_items_as_allowed(self):
        charge = recurring(start=date(2000, 1, 1), end=_months_after_2000(MAX_INVOICE_ITEMS))
        run = bill_charges([charge], 1, date(9000, 1, 1))
        assert run.invoice is not None
        assert len(run.invoice.items) == MAX_INVOICE_ITEMS

    def test_one_period_more_is_refused(self):
        charge = recurring(start=date(2000, 1, 1), end=_months_after_2000(MAX_INVOICE_ITEMS + 1))
        with pytest.raises(TooManyItems):
            bill_charges([charge], 1, date(9000, 1, 1))

    def test_the_charges_of_a_run_share_the_items_allowed(self):
        half = MAX_INVOICE_ITEMS // 2
        charges = [
            recurring(key="C-1", start=date(2000, 1, 1), end=_months_after_2000(half)),
            recurring(key="C-2", start=date(2000, 1, 1), end=_months_after_2000(half)),
            one_time(key="C-3", start=date(2000, 1, 1)),
        ]
        with pytest.raises(TooManyItems):
            bill_charges(charges, 1, date(9000, 1, 1))
        assert len(bill_charges(charges[:2], 1, date(9000, 1, 1)).invoice.items) == 2 * half

    def test_a_charge_without_end_stops_at_the_one_too_many(self):
        with pytest.raises(TooManyItems):
            bill_charges([recurring(start=date(1900, 1, 1))], 1, date(9998, 12, 1))


def _months_after_2000(months: int) -> date:
    return date(2000 + months // 12, months % 12 + 1, 1)
