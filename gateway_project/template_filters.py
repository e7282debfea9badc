"""Filters every template may use without ``{% load %}`` (registered as a builtin in settings.TEMPLATES)."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from django import template

from gateway_project.money import usd

register = template.Library()
register.filter("usd", usd)


@register.filter
def per_million(value) -> str:
    """A price per token as dollars per million tokens: 0.0000008 -> "0.80"; "—" when unknown."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(value) * 1_000_000
    except (InvalidOperation, TypeError, ValueError):
        return "—"
    return usd(amount.quantize(Decimal("0.0001")) if amount < 1 else amount.quantize(Decimal("0.01")))


@register.filter
def as_json(value) -> str:
    """A value as JSON text (preset parameters are shown and edited as JSON, never Python's repr)."""
    return json.dumps(value if value is not None else {}, ensure_ascii=False, sort_keys=True)


@register.filter
def get_item(mapping, key):
    """``mapping[key]``, or "" when absent (a template looks up a model's readable name by its id)."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter
def context_size(tokens) -> str:
    """A context length the way people say it: 131072 -> "131k", 1048576 -> "1M"."""
    try:
        tokens = int(tokens)
    except (TypeError, ValueError):
        return ""
    if tokens >= 1_000_000:
        return f"{tokens / 1_000_000:.3g}M"
    return f"{round(tokens / 1000)}k" if tokens >= 1000 else str(tokens)
