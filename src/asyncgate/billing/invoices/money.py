"""Currency amounts: each currency's minor unit and Zuora's default rounding, half up.

Values are computed exactly (as fractions) and rounded once, where an amount is produced: an
invoice item or a metric. Prices and quantities are never rounded. Stored amounts (invoices,
their items, balances) are bounded by :data:`AMOUNT_LIMIT`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

# ISO 4217 minor units of the currencies that do not have two decimals.
_MINOR_UNITS = {
    code: units
    for units, codes in (
        (0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"),
        (3, "BHD IQD JOD KWD LYD OMR TND"),
        (4, "CLF UYW"),
    )
    for code in codes.split()
}
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
AMOUNT_LIMIT = Decimal(10) ** 12
"""Stored amounts are less than this, in absolute value: twelve digits before the point and
four after are what both backends keep exactly (SQLite stores them as doubles)."""


def minor_units(currency: str) -> int:
    """Decimals of ``currency`` (an ISO 4217 code such as ``USD``): 2 unless listed otherwise."""
    if not _CURRENCY_CODE.fullmatch(currency):
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    return _MINOR_UNITS.get(currency, 2)


def round_amount(value: Fraction | Decimal | int, currency: str) -> Decimal:
    """``value`` rounded to the minor unit of ``currency``, half away from zero (Zuora's Half Up):
    2.345 USD is 2.35 and -2.345 is -2.35, so a credit is the exact negative of its charge."""
    places = minor_units(currency)
    scaled = Fraction(value) * 10**places
    units = (abs(scaled.numerator) * 2 + scaled.denominator) // (2 * scaled.denominator)
    return Decimal(units if scaled >= 0 else -units).scaleb(-places)


def storable(amount: Decimal) -> bool:
    """Whether ``amount`` is within :data:`AMOUNT_LIMIT`."""
    return abs(amount) < AMOUNT_LIMIT
