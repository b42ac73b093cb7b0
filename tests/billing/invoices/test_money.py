"""Currency rounding: each currency's minor unit, half away from zero."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from asyncgate.billing.invoices.money import CURRENCY_CODES, minor_units, round_amount


class TestMinorUnits:
    @pytest.mark.parametrize(
        ("currency", "units"),
        [
            ("USD", 2),
            ("EUR", 2),
            ("GBP", 2),
            ("JPY", 0),
            ("KRW", 0),
            ("BHD", 3),
            ("KWD", 3),
            ("CLF", 4),
        ],
    )
    def test_iso_4217_decimals(self, currency, units):
        assert minor_units(currency) == units

    @pytest.mark.parametrize("code", ["usd", "US", "USDX", ""])
    def test_a_code_is_three_capital_letters(self, code):
        with pytest.raises(ValueError, match="ISO 4217"):
            minor_units(code)

    def test_a_code_iso_4217_does_not_list_has_two_decimals(self):
        """Accounts and prices stored before currencies were checked may be in one: billing
        them still works."""
        assert minor_units("XYZ") == 2

    @pytest.mark.parametrize("code", ["XYZ", "XAU", "XTS", "HRK"])
    def test_accounts_and_prices_may_be_in_iso_4217_currencies_only(self, code):
        """Not an unknown code, nor one without a minor unit (gold, the test code), nor a
        withdrawn currency (the Croatian kuna, replaced by the euro in 2023)."""
        assert "USD" in CURRENCY_CODES
        assert code not in CURRENCY_CODES


class TestRoundAmount:
    def test_a_tie_rounds_up(self):
        # 2.345 is halfway between 2.34 and 2.35: Half Up takes 2.35 (half-even would take 2.34).
        assert round_amount(Decimal("2.345"), "USD") == Decimal("2.35")

    def test_a_negative_tie_rounds_away_from_zero(self):
        assert round_amount(Decimal("-2.345"), "USD") == Decimal("-2.35")

    def test_just_under_a_tie_rounds_down(self):
        assert round_amount(Decimal("2.3449999"), "USD") == Decimal("2.34")

    def test_yen_have_no_decimals(self):
        assert round_amount(Decimal("1234.5"), "JPY") == Decimal(1235)
        assert str(round_amount(Decimal("1234.4"), "JPY")) == "1234"

    def test_three_decimal_dinars(self):
        # 1/3 KWD = 0.3333... -> 0.333
        assert round_amount(Fraction(1, 3), "KWD") == Decimal("0.333")

    def test_the_result_carries_the_currency_exponent(self):
        assert str(round_amount(0, "USD")) == "0.00"
        assert str(round_amount(Decimal("-0.004"), "USD")) == "0.00"
        assert str(round_amount(7, "BHD")) == "7.000"

    def test_an_exact_fraction_is_rounded_once(self):
        # 100 x 17 / 31 = 54.838709... -> 54.84
        assert round_amount(Fraction(1700, 31), "EUR") == Decimal("54.84")
