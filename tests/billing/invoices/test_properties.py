"""Properties of the billing arithmetic that hold for any dates, bill cycle days and prices."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import islice, pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from asyncgate.billing.invoices.money import minor_units, round_amount
from asyncgate.billing.invoices.periods import BillingPeriod, billing_periods
from asyncgate.billing.invoices.rating import rate_charge
from tests.billing.invoices.support import recurring

NO_DEADLINE = settings(deadline=None)
CENT = Decimal("0.01")

days = st.dates(date(2020, 1, 1), date(2030, 12, 31))
bill_cycle_days = st.integers(1, 31)
periods = st.sampled_from(BillingPeriod)
prices = st.integers(1, 10**8).map(lambda cents: Decimal(cents).scaleb(-2))


@st.composite
def charges(draw):
    start = draw(days)
    ends = st.none() | st.integers(0, 1500).map(lambda n: start + timedelta(days=n))
    return recurring(
        str(draw(prices)),
        billing_period=draw(periods),
        start=start,
        end=draw(ends),
    )


class TestPeriods:
    @NO_DEADLINE
    @given(days, periods, bill_cycle_days)
    def test_periods_follow_each_other_inside_their_full_periods(self, start, period, bcd):
        spans = list(islice(billing_periods(start, period, bcd), 30))
        assert spans[0].start == start
        for before, after in pairwise(spans):
            assert before.end == after.start
            assert before.full_end == after.full_start
            assert after.is_full
        for span in spans:
            assert span.full_start <= span.start < span.end <= span.full_end
            assert 0 < span.share <= 1


class TestRating:
    @NO_DEADLINE
    @given(charges(), bill_cycle_days, days, st.integers(0, 800))
    def test_billing_in_steps_bills_what_one_run_bills(self, charge, bcd, first, more):
        second = first + timedelta(days=more)
        once = rate_charge(charge, bcd, second)
        step = rate_charge(charge, bcd, first)
        rest = rate_charge(replace(charge, charged_through=step.charged_through), bcd, second)
        assert step.items + rest.items == once.items
        assert rest.charged_through == once.charged_through

    @NO_DEADLINE
    @given(prices, st.integers(1, 365))
    def test_a_year_split_by_a_cancellation_adds_up_to_its_price_within_a_cent(self, price, day):
        # 2024 has 366 days. A cancellation after the first ``day`` of them: billed before it,
        # the days kept; billed for the whole year before it, the days given back.
        annual = recurring(str(price), billing_period=BillingPeriod.ANNUAL)
        cancelled = annual.start + timedelta(days=day)
        [kept] = rate_charge(replace(annual, end=cancelled), 1, cancelled).items
        billed_year = replace(annual, end=cancelled, charged_through=date(2025, 1, 1))
        [given_back] = rate_charge(billed_year, 1, cancelled).items
        assert abs(kept.amount - given_back.amount - price) <= CENT

    @NO_DEADLINE
    @given(st.fractions(-(10**6), 10**6), st.sampled_from(["USD", "JPY", "KWD"]))
    def test_rounding_is_within_half_a_minor_unit_and_symmetric(self, value, currency):
        rounded = round_amount(value, currency)
        half_unit = Fraction(1, 2 * 10 ** minor_units(currency))
        assert abs(Fraction(rounded) - value) <= half_unit
        assert round_amount(-value, currency) == -rounded
