"""Template filters of the admin console."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def usd(value) -> str:
    """Format a money amount without trailing zeros, at least to the cent: 12.5 -> "12.50", 0.000123 -> "0.000123"."""
    try:
        amount = Decimal(value if value is not None else 0)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    text = format(amount.normalize(), "f")
    whole, _, cents = text.partition(".")
    return f"{whole}.{cents.ljust(2, '0')}"
