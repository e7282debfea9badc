"""The one way money is written: plain decimal strings in the API and CSV, at least to the cent on pages.

Amounts are ``Decimal`` USD everywhere inside; these are the only two spellings the outside sees.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def money(value: Decimal | int | str | None) -> str | None:
    """A USD amount as a plain decimal without trailing zeros ("12.5", "3", "0.000013"); None stays None."""
    if value is None:
        return None
    amount = Decimal(value).normalize()
    return format(amount if amount else Decimal(0), "f")  # never "0E-8"


def usd(value) -> str:
    """A USD amount for a page: at least to the cent (12.5 -> "12.50", 0.000123 -> "0.000123"); "" if not a number."""
    try:
        text = money(Decimal(value if value is not None else 0))
    except (InvalidOperation, TypeError, ValueError):
        return ""
    whole, _, cents = text.partition(".")
    return f"{whole}.{cents.ljust(2, '0')}"
