"""Rating one charge for a bill run, against amounts computed by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from asyncgate.billing.invoices.charges import RestChargeModel
from asyncgate.billing.invoices.periods import BillingPeriod
from asyncgate.billing.invoices.rating import ItemKind, rate_charge
from tests.billing.invoices.support import one_time, recurring

CHARGE, PRORATION = ItemKind.CHARGE, ItemKind.PRORATION
CREDIT, PRORATION_CREDIT = ItemKind.CREDIT, ItemKind.PRORATION_CREDIT


def lines(rated):
    """Each item as (service start, service end, amount, kind)."""
    return [(i.service_start, i.service_end, i.amount, i.kind) for i in rated.items]


class TestFullPeriods:
    def test_a_monthly_fee_bills_the_month_that_starts_on_the_target_date(self):
        rated = rate_charge(recurring("100"), 1, date(2024, 1, 1))
        assert lines(rated) == [(date(2024, 1, 1), date(2024, 1, 31), Decimal("100.00"), CHARGE)]
        assert rated.charged_through == date(2024, 2, 1)

    def test_every_period_started_by_the_target_date_is_billed_in_advance(self):
        # Target Mar 15: January, February and March (it starts Mar 1) are due.
        rated = rate_charge(recurring("100"), 1, date(2024, 3, 15))
        assert [item.service_start for item in rated.items] == [
            date(2024, 1, 1),
            date(2024, 2, 1),
            date(2024, 3, 1),
        ]
        assert rated.charged_through == date(2024, 4, 1)

    def test_a_quarterly_fee(self):
        charge = recurring("300", billing_period=BillingPeriod.QUARTER)
        rated = rate_charge(charge, 1, date(2024, 6, 30))
        assert lines(rated) == [
            (date(2024, 1, 1), date(2024, 3, 31), Decimal("300.00"), CHARGE),
            (date(2024, 4, 1), date(2024, 6, 30), Decimal("300.00"), CHARGE),
        ]
        assert rated.charged_through == date(2024, 7, 1)

    def test_an_annual_fee(self):
        charge = recurring("1200", billing_period=BillingPeriod.ANNUAL)
        rated = rate_charge(charge, 1, date(2024, 12, 31))
        assert lines(rated) == [(date(2024, 1, 1), date(2024, 12, 31), Decimal("1200.00"), CHARGE)]
        assert rated.charged_through == date(2025, 1, 1)

    def test_nothing_is_due_before_the_charge_starts(self):
        rated = rate_charge(recurring(start=date(2024, 2, 1)), 1, date(2024, 1, 31))
        assert rated.items == ()
        assert rated.charged_through is None


class TestPerUnit:
    def test_the_amount_is_unit_price_times_quantity(self):
        # 9.99 x 7 = 69.93
        rated = rate_charge(recurring("9.99", quantity=Decimal(7)), 1, date(2024, 1, 1))
        [item] = rated.items
        assert (item.quantity, item.unit_price, item.amount) == (
            Decimal(7),
            Decimal("9.99"),
            Decimal("69.93"),
        )

    def test_a_fractional_quantity(self):
        # 12.34 x 2.5 = 30.85
        rated = rate_charge(recurring("12.34", quantity=Decimal("2.5")), 1, date(2024, 1, 1))
        assert rated.items[0].amount == Decimal("30.85")

    def test_a_prorated_per_unit_charge_rounds_the_product_once(self):
        # 3.333 x 3 = 9.999 a month; Jan 15-31 is 17/31: 9.999 x 17 / 31 = 5.48332... -> 5.48
        charge = recurring("3.333", quantity=Decimal(3), start=date(2024, 1, 15))
        assert rate_charge(charge, 1, date(2024, 1, 15)).items[0].amount == Decimal("5.48")

    def test_a_flat_fee_shows_quantity_one(self):
        assert rate_charge(recurring(), 1, date(2024, 1, 1)).items[0].quantity == Decimal(1)


class TestMidPeriodStart:
    def test_bcd_1(self):
        # Jan 15-31 is 17 days of January's 31: 100 x 17 / 31 = 54.838... -> 54.84
        rated = rate_charge(recurring("100", start=date(2024, 1, 15)), 1, date(2024, 2, 1))
        assert lines(rated) == [
            (date(2024, 1, 15), date(2024, 1, 31), Decimal("54.84"), PRORATION),
            (date(2024, 2, 1), date(2024, 2, 29), Decimal("100.00"), CHARGE),
        ]
        assert rated.charged_through == date(2024, 3, 1)

    def test_bcd_15(self):
        # Mar 3-14 is 12 days of the period Feb 15 - Mar 14 (29 days in 2024):
        # 100 x 12 / 29 = 41.379... -> 41.38
        rated = rate_charge(recurring("100", start=date(2024, 3, 3)), 15, date(2024, 3, 15))
        assert lines(rated) == [
            (date(2024, 3, 3), date(2024, 3, 14), Decimal("41.38"), PRORATION),
            (date(2024, 3, 15), date(2024, 4, 14), Decimal("100.00"), CHARGE),
        ]

    def test_a_start_on_the_bcd_is_not_prorated(self):
        rated = rate_charge(recurring("100", start=date(2024, 3, 15)), 15, date(2024, 3, 15))
        assert lines(rated) == [(date(2024, 3, 15), date(2024, 4, 14), Decimal("100.00"), CHARGE)]

    def test_quarterly(self):
        # Jan 15-31 is 17 days of the quarter Nov 1 - Jan 31 (30 + 31 + 31 = 92 days):
        # 300 x 17 / 92 = 55.434... -> 55.43
        charge = recurring("300", billing_period=BillingPeriod.QUARTER, start=date(2024, 1, 15))
        rated = rate_charge(charge, 1, date(2024, 2, 1))
        assert lines(rated) == [
            (date(2024, 1, 15), date(2024, 1, 31), Decimal("55.43"), PRORATION),
            (date(2024, 2, 1), date(2024, 4, 30), Decimal("300.00"), CHARGE),
        ]

    def test_annual(self):
        # Mar 15-31 is 17 days of Apr 1 2023 - Mar 31 2024 (366 days, Feb 29 2024 included):
        # 1200 x 17 / 366 = 55.737... -> 55.74
        charge = recurring("1200", billing_period=BillingPeriod.ANNUAL, start=date(2024, 3, 15))
        rated = rate_charge(charge, 1, date(2024, 4, 1))
        assert lines(rated) == [
            (date(2024, 3, 15), date(2024, 3, 31), Decimal("55.74"), PRORATION),
            (date(2024, 4, 1), date(2025, 3, 31), Decimal("1200.00"), CHARGE),
        ]

    def test_bcd_31_in_february(self):
        # BCD 31 is Feb 28 in 2023. Feb 10-27 is 18 days of Jan 31 - Feb 27 (28 days):
        # 100 x 18 / 28 = 64.285... -> 64.29. Then Feb 28 - Mar 30 and Mar 31 - Apr 29.
        rated = rate_charge(recurring("100", start=date(2023, 2, 10)), 31, date(2023, 3, 31))
        assert lines(rated) == [
            (date(2023, 2, 10), date(2023, 2, 27), Decimal("64.29"), PRORATION),
            (date(2023, 2, 28), date(2023, 3, 30), Decimal("100.00"), CHARGE),
            (date(2023, 3, 31), date(2023, 4, 29), Decimal("100.00"), CHARGE),
        ]

    def test_bcd_31_in_a_leap_year(self):
        # BCD 31 is Feb 29 in 2024. Feb 10-28 is 19 days of Jan 31 - Feb 28 (29 days):
        # 100 x 19 / 29 = 65.517... -> 65.52
        rated = rate_charge(recurring("100", start=date(2024, 2, 10)), 31, date(2024, 2, 29))
        assert lines(rated) == [
            (date(2024, 2, 10), date(2024, 2, 28), Decimal("65.52"), PRORATION),
            (date(2024, 2, 29), date(2024, 3, 30), Decimal("100.00"), CHARGE),
        ]


class TestBillingAgain:
    def test_the_same_target_date_adds_nothing(self):
        first = rate_charge(recurring(), 1, date(2024, 2, 1))
        billed = replace(recurring(), charged_through=first.charged_through)
        again = rate_charge(billed, 1, date(2024, 2, 1))
        assert again.items == ()
        assert again.charged_through == first.charged_through

    def test_a_later_target_date_bills_only_the_new_periods(self):
        billed = recurring(charged_through=date(2024, 2, 1))
        rated = rate_charge(billed, 1, date(2024, 3, 1))
        assert [item.service_start for item in rated.items] == [date(2024, 2, 1), date(2024, 3, 1)]
        assert rated.charged_through == date(2024, 4, 1)

    def test_a_charge_billed_ahead_of_the_target_date_adds_nothing(self):
        billed = recurring(charged_through=date(2024, 6, 1))
        rated = rate_charge(billed, 1, date(2024, 3, 1))
        assert rated.items == ()
        assert rated.charged_through == date(2024, 6, 1)


class TestCancellation:
    def test_before_billing_the_last_period_stops_at_the_end_date(self):
        # End Mar 10 (exclusive): Mar 1-9 is 9 days of 31: 100 x 9 / 31 = 29.032... -> 29.03
        charge = recurring("100", end=date(2024, 3, 10))
        rated = rate_charge(charge, 1, date(2024, 12, 31))
        assert lines(rated)[-1] == (date(2024, 3, 1), date(2024, 3, 9), Decimal("29.03"), PRORATION)
        assert len(rated.items) == 3
        assert rated.charged_through == date(2024, 3, 10)

    def test_nothing_is_billed_after_the_end_date(self):
        ended = recurring(end=date(2024, 3, 10), charged_through=date(2024, 3, 10))
        assert rate_charge(ended, 1, date(2025, 1, 1)).items == ()

    def test_after_billing_the_unused_days_are_credited(self):
        # Billed for 2024, cancelled as of Jul 1: Jul 1 - Dec 31 is 184 days of 366:
        # 1200 x 184 / 366 = 603.278... -> credit 603.28
        charge = recurring(
            "1200",
            billing_period=BillingPeriod.ANNUAL,
            end=date(2024, 7, 1),
            charged_through=date(2025, 1, 1),
        )
        rated = rate_charge(charge, 1, date(2024, 7, 1))
        assert lines(rated) == [
            (date(2024, 7, 1), date(2024, 12, 31), Decimal("-603.28"), PRORATION_CREDIT)
        ]
        assert rated.charged_through == date(2024, 7, 1)

    def test_zuoras_documented_credit(self):
        # Zuora's example: $25 a month, BCD 11, billed Feb 11 - Mar 10 2020, cancelled as of
        # Mar 1: Mar 1-10 is 10 days of 29: 25 x 10 / 29 = 8.6206... -> credit 8.62
        charge = recurring(
            "25", start=date(2020, 2, 11), end=date(2020, 3, 1), charged_through=date(2020, 3, 11)
        )
        rated = rate_charge(charge, 11, date(2020, 3, 1))
        assert lines(rated) == [
            (date(2020, 3, 1), date(2020, 3, 10), Decimal("-8.62"), PRORATION_CREDIT)
        ]

    def test_a_credit_spans_every_billed_period_after_the_end_date(self):
        # Billed January to March, cancelled as of Feb 20: Feb 20-29 is 10 days of 29,
        # 100 x 10 / 29 = 34.482... -> credit 34.48; all of March -> credit 100.00
        charge = recurring(end=date(2024, 2, 20), charged_through=date(2024, 4, 1))
        rated = rate_charge(charge, 1, date(2024, 2, 20))
        assert lines(rated) == [
            (date(2024, 2, 20), date(2024, 2, 29), Decimal("-34.48"), PRORATION_CREDIT),
            (date(2024, 3, 1), date(2024, 3, 31), Decimal("-100.00"), CREDIT),
        ]
        assert rated.charged_through == date(2024, 2, 20)

    def test_a_credit_waits_for_the_end_date(self):
        charge = recurring(end=date(2024, 2, 20), charged_through=date(2024, 4, 1))
        rated = rate_charge(charge, 1, date(2024, 2, 19))
        assert rated.items == ()
        assert rated.charged_through == date(2024, 4, 1)

    def test_a_credit_is_given_once(self):
        charge = recurring(end=date(2024, 2, 20), charged_through=date(2024, 4, 1))
        credited = rate_charge(charge, 1, date(2024, 2, 20))
        again = replace(charge, charged_through=credited.charged_through)
        assert rate_charge(again, 1, date(2024, 12, 31)).items == ()

    def test_a_credit_in_the_leading_partial_period_uses_its_full_period(self):
        # Billed Jan 15-31 (17/31 of January), cancelled as of Jan 20:
        # Jan 20-31 is 12 days of 31: 100 x 12 / 31 = 38.709... -> credit 38.71
        charge = recurring(
            start=date(2024, 1, 15), end=date(2024, 1, 20), charged_through=date(2024, 2, 1)
        )
        rated = rate_charge(charge, 1, date(2024, 1, 20))
        assert lines(rated) == [
            (date(2024, 1, 20), date(2024, 1, 31), Decimal("-38.71"), PRORATION_CREDIT)
        ]


class TestOneTime:
    def test_billed_once_on_its_start_date(self):
        charge = one_time("49.99", start=date(2024, 1, 5))
        assert rate_charge(charge, 1, date(2024, 1, 4)).items == ()
        rated = rate_charge(charge, 1, date(2024, 1, 5))
        assert lines(rated) == [(date(2024, 1, 5), date(2024, 1, 5), Decimal("49.99"), CHARGE)]
        assert rated.charged_through == date(2024, 1, 6)
        billed = replace(charge, charged_through=rated.charged_through)
        assert rate_charge(billed, 1, date(2025, 1, 1)).items == ()

    def test_per_unit(self):
        # 15 x 3 = 45
        charge = one_time("15", quantity=Decimal(3), start=date(2024, 1, 5))
        assert rate_charge(charge, 1, date(2024, 1, 5)).items[0].amount == Decimal("45.00")

    def test_cancelling_after_billing_credits_nothing(self):
        charge = one_time(
            start=date(2024, 1, 5), end=date(2024, 1, 5), charged_through=date(2024, 1, 6)
        )
        assert rate_charge(charge, 1, date(2024, 2, 1)).items == ()

    def test_removed_before_it_started_is_not_billed(self):
        charge = one_time(start=date(2024, 1, 5), end=date(2024, 1, 5))
        assert rate_charge(charge, 1, date(2024, 2, 1)).items == ()


class TestRounding:
    def test_yen_prorate_to_whole_yen(self):
        # 1000 JPY, Jan 15-31 is 17/31: 1000 x 17 / 31 = 548.387... -> 548
        charge = recurring("1000", currency="JPY", start=date(2024, 1, 15))
        assert str(rate_charge(charge, 1, date(2024, 1, 15)).items[0].amount) == "548"

    def test_a_yen_tie_rounds_up(self):
        # 1001 JPY, Apr 16-30 is 15 of April's 30 days: 1001 x 15 / 30 = 500.5 -> 501
        charge = recurring("1001", currency="JPY", start=date(2024, 4, 16))
        assert rate_charge(charge, 1, date(2024, 4, 16)).items[0].amount == Decimal(501)

    def test_a_cent_tie_rounds_up_and_its_credit_down(self):
        # 100.01 x 15 / 30 = 50.005 -> 50.01 (half-even would give 50.00); the credit of the
        # same 15 days is -50.01.
        charge = recurring("100.01", start=date(2024, 4, 16))
        assert rate_charge(charge, 1, date(2024, 4, 16)).items[0].amount == Decimal("50.01")
        cancelled = recurring("100.01", end=date(2024, 4, 16), charged_through=date(2024, 5, 1))
        assert rate_charge(cancelled, 1, date(2024, 4, 16)).items[0].amount == Decimal("-50.01")

    def test_a_price_keeps_its_precision(self):
        # The unit price is never rounded: 0.0125 x 1000 = 12.50
        charge = recurring("0.0125", quantity=Decimal(1000))
        [item] = rate_charge(charge, 1, date(2024, 1, 1)).items
        assert (item.unit_price, item.amount) == (Decimal("0.0125"), Decimal("12.50"))


class TestChargeShape:
    def test_a_float_price_is_refused(self):
        with pytest.raises(TypeError, match="Decimal"):
            replace(recurring(), price=100.0)

    def test_a_per_unit_charge_needs_a_decimal_quantity(self):
        with pytest.raises(ValueError, match="quantity"):
            replace(recurring(), model=RestChargeModel.PER_UNIT)
        with pytest.raises(ValueError, match="quantity"):
            recurring(quantity=2.0)

    def test_a_flat_fee_has_no_quantity(self):
        with pytest.raises(ValueError, match="FlatFee"):
            replace(recurring(), quantity=Decimal(2))

    def test_only_a_recurring_charge_has_a_billing_period(self):
        with pytest.raises(ValueError, match="billing period"):
            recurring(billing_period=None)
        with pytest.raises(ValueError, match="billing period"):
            replace(one_time(), billing_period=BillingPeriod.MONTH)

    def test_an_end_before_the_start_is_refused(self):
        with pytest.raises(ValueError, match="end before"):
            recurring(end=date(2023, 12, 31))
