"""Billing periods: bill cycle dates, a leading partial period, full periods, a cut-short end."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from itertools import islice

import pytest

from asyncgate.billing.invoices.periods import (
    BillingPeriod,
    add_months,
    bill_cycle_date,
    billing_periods,
)

MONTH, QUARTER, ANNUAL = BillingPeriod.MONTH, BillingPeriod.QUARTER, BillingPeriod.ANNUAL


def spans(periods):
    """Each period as (start, last day, full start, share)."""
    return [(p.start, p.last_day, p.full_start, p.share) for p in periods]


class TestBillCycleDate:
    @pytest.mark.parametrize(
        ("year", "month", "bcd", "expected"),
        [
            (2024, 1, 15, date(2024, 1, 15)),
            (2024, 4, 31, date(2024, 4, 30)),
            (2023, 2, 31, date(2023, 2, 28)),
            (2023, 2, 29, date(2023, 2, 28)),
            (2023, 2, 30, date(2023, 2, 28)),
            (2024, 2, 30, date(2024, 2, 29)),
            (2024, 2, 29, date(2024, 2, 29)),
        ],
    )
    def test_a_short_month_bills_on_its_last_day(self, year, month, bcd, expected):
        assert bill_cycle_date(year, month, bcd) == expected

    @pytest.mark.parametrize("bcd", [0, 32])
    def test_a_bill_cycle_day_is_1_to_31(self, bcd):
        with pytest.raises(ValueError, match="1 to 31"):
            bill_cycle_date(2024, 1, bcd)


class TestAddMonths:
    def test_keeps_the_day(self):
        assert add_months(date(2024, 1, 15), 13) == date(2025, 2, 15)

    def test_clamps_to_a_shorter_month(self):
        assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
        assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
        assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)


class TestBillingPeriods:
    def test_a_start_on_the_bill_cycle_day_has_only_full_periods(self):
        periods = islice(billing_periods(date(2024, 1, 1), MONTH, 1), 3)
        assert spans(periods) == [
            (date(2024, 1, 1), date(2024, 1, 31), date(2024, 1, 1), 1),
            (date(2024, 2, 1), date(2024, 2, 29), date(2024, 2, 1), 1),
            (date(2024, 3, 1), date(2024, 3, 31), date(2024, 3, 1), 1),
        ]

    @pytest.mark.parametrize(
        ("start", "period", "bcd", "partial", "first_full"),
        [
            pytest.param(
                # Jan 15-31 is 17 of the 31 days of Jan 1-31.
                date(2024, 1, 15), MONTH, 1,
                (date(2024, 1, 15), date(2024, 1, 31), date(2024, 1, 1), Fraction(17, 31)),
                (date(2024, 2, 1), date(2024, 2, 29)),
                id="monthly-bcd-1",
            ),
            pytest.param(
                # Mar 3-14 is 12 of the 29 days of Feb 15 - Mar 14 2024.
                date(2024, 3, 3), MONTH, 15,
                (date(2024, 3, 3), date(2024, 3, 14), date(2024, 2, 15), Fraction(12, 29)),
                (date(2024, 3, 15), date(2024, 4, 14)),
                id="monthly-bcd-15",
            ),
            pytest.param(
                # Feb 28 2024 is not the bill cycle date (Feb 29 is): 1 of the 29 days of
                # Jan 31 - Feb 28.
                date(2024, 2, 28), MONTH, 31,
                (date(2024, 2, 28), date(2024, 2, 28), date(2024, 1, 31), Fraction(1, 29)),
                (date(2024, 2, 29), date(2024, 3, 30)),
                id="bcd-31-leap-february",
            ),
            pytest.param(
                # Jan 15-31 is 17 of the 92 days of Nov 1 - Jan 31.
                date(2024, 1, 15), QUARTER, 1,
                (date(2024, 1, 15), date(2024, 1, 31), date(2023, 11, 1), Fraction(17, 92)),
                (date(2024, 2, 1), date(2024, 4, 30)),
                id="quarterly",
            ),
            pytest.param(
                # Mar 15-31 is 17 of the 366 days of Apr 1 2023 - Mar 31 2024 (a leap year).
                date(2024, 3, 15), ANNUAL, 1,
                (date(2024, 3, 15), date(2024, 3, 31), date(2023, 4, 1), Fraction(17, 366)),
                (date(2024, 4, 1), date(2025, 3, 31)),
                id="annual",
            ),
        ],
    )  # fmt: skip
    def test_a_start_off_the_bcd_opens_with_a_partial_period(
        self, start, period, bcd, partial, first_full
    ):
        leading, full = islice(billing_periods(start, period, bcd), 2)
        assert spans([leading]) == [partial]
        assert (full.start, full.last_day, full.is_full) == (*first_full, True)

    def test_bcd_31_follows_the_last_day_of_short_months(self):
        periods = islice(billing_periods(date(2023, 1, 31), MONTH, 31), 4)
        assert [(p.start, p.last_day) for p in periods] == [
            (date(2023, 1, 31), date(2023, 2, 27)),
            (date(2023, 2, 28), date(2023, 3, 30)),
            (date(2023, 3, 31), date(2023, 4, 29)),
            (date(2023, 4, 30), date(2023, 5, 30)),
        ]

    def test_the_last_period_stops_at_the_end_date(self):
        # End Mar 10 (exclusive): Mar 1-9 is 9 of the 31 days of March.
        periods = billing_periods(date(2024, 1, 1), MONTH, 1, end=date(2024, 3, 10))
        assert spans(periods)[-1] == (
            date(2024, 3, 1),
            date(2024, 3, 9),
            date(2024, 3, 1),
            Fraction(9, 31),
        )

    def test_an_end_inside_the_leading_partial_period(self):
        periods = billing_periods(date(2024, 1, 15), MONTH, 1, end=date(2024, 1, 20))
        assert spans(periods) == [
            (date(2024, 1, 15), date(2024, 1, 19), date(2024, 1, 1), Fraction(5, 31))
        ]

    def test_an_end_on_a_bill_cycle_date_ends_with_a_full_period(self):
        periods = list(billing_periods(date(2024, 1, 1), QUARTER, 1, end=date(2025, 1, 1)))
        assert len(periods) == 4
        assert all(period.is_full for period in periods)

    def test_a_charge_that_ends_as_it_starts_has_no_period(self):
        assert list(billing_periods(date(2024, 1, 15), MONTH, 1, end=date(2024, 1, 15))) == []
