"""Currency amounts: each currency's minor unit and Zuora's default rounding, half up.

Values are computed exactly (as fractions) and rounded once, where an amount is produced: an
invoice item or a metric. Prices and quantities are never rounded. Stored amounts (invoices,
their items, balances) are bounded by :data:`AMOUNT_LIMIT`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import iso4217

# ISO 4217's currencies with a minor unit (not gold, special drawing rights or the test code),
# each with its number of decimals: those accounts, prices and orders may be in.
_MINOR_UNITS = {
    currency.code: currency.exponent
    for currency in iso4217.Currency
    if currency.exponent is not None
}
CURRENCY_CODES = frozenset(_MINOR_UNITS)
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
AMOUNT_LIMIT = Decimal(10) ** 12
"""Stored amounts are less than this, in absolute value: twelve digits before the point and
four after are what both backends keep exactly (SQLite stores them as doubles)."""


def minor_units(currency: str) -> int:
    """Decimals of ``currency``: ISO 4217's for its currencies (:data:`CURRENCY_CODES`), 2 for
    another three-letter code, which data stored before currencies were checked may hold."""
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
