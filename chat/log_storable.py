"""Make a request-log row storable: what a client or an upstream sent can never make its INSERT fail.

PostgreSQL refuses NUL in text and in jsonb (``\\u0000``), a string longer than
its column, an integer past its column's range and a decimal with too many
digits. Each is made to fit here, field by field, from the model's own column
definitions. See docs/decisions/0007-v1-input-and-log-rows.md.
"""

from __future__ import annotations

import functools
from decimal import Decimal

import orjson

_INT_RANGES = {
    "PositiveIntegerField": (0, 2**31 - 1),
    "PositiveSmallIntegerField": (0, 2**15 - 1),
    "IntegerField": (-(2**31), 2**31 - 1),
    "SmallIntegerField": (-(2**15), 2**15 - 1),
    "BigIntegerField": (-(2**63), 2**63 - 1),
}


def _clean(value: object) -> object:
    """Return ``value`` with NUL removed from every string in it, dictionary keys included."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


@functools.cache
def _columns() -> dict[str, tuple[str, object]]:
    """Each RequestLog field's name and attname -> (internal type, its bound: max length, range or decimal max)."""
    from chat.models import RequestLog  # models load after the app registry; this module is imported before

    columns: dict[str, tuple[str, object]] = {}
    for f in RequestLog._meta.concrete_fields:
        kind = f.get_internal_type()
        if kind == "DecimalField":
            bound: object = Decimal(10) ** (f.max_digits - f.decimal_places) - Decimal(10) ** -f.decimal_places
        elif kind in _INT_RANGES:
            bound = _INT_RANGES[kind]
        else:
            bound = getattr(f, "max_length", None)
        columns[f.name] = columns[f.attname] = (kind, bound)
    return columns


def storable(row: dict) -> dict:
    """Return a copy of ``row`` that its columns can hold: NUL stripped, strings cut, numbers clamped."""
    columns = _columns()
    return {name: _fit(_clean(value), *columns.get(name, ("", None))) for name, value in row.items()}


def _fit(value: object, kind: str, bound: object) -> object:
    """``value`` (NUL already removed) cut or clamped to its column's bound."""
    if isinstance(value, str) and isinstance(bound, int):
        return value[:bound]
    if kind in _INT_RANGES and isinstance(value, int) and not isinstance(value, bool):
        low, high = bound
        return min(max(value, low), high)
    if kind == "DecimalField" and isinstance(value, Decimal) and value.is_finite():
        return min(max(value, -bound), bound)
    return value


def _json_text(value: object) -> str | None:
    """``value`` as the JSON text a jsonb column accepts: NUL (``\\u0000``) is refused there, so it is removed."""
    if value is None:
        return None
    dumped = orjson.dumps(value)
    if b"\\u0000" in dumped:  # rare: only then walk the value (a literal backslash-u0000 lands here too, harmlessly)
        dumped = orjson.dumps(_clean(value))
    return dumped.decode()


@functools.cache
def copy_columns() -> tuple[tuple[str, ...], tuple[tuple[str, str, object, object], ...]]:
    """RequestLog's columns in table order without the primary key, and for each: (attname, kind, bound, default)."""
    from chat.models import RequestLog

    fields = [f for f in RequestLog._meta.concrete_fields if not f.primary_key]
    columns = _columns()
    return (tuple(f.column for f in fields),
            tuple((f.attname, *columns[f.attname], f.get_default()) for f in fields))


def storable_values(row: dict) -> tuple:
    """``row`` as the values of ``copy_columns()``, made to fit as ``storable`` does, JSON already as text.

    One pass and no Model instance: the COPY writer's conversion (chat/log_copy.py).
    """
    values = []
    for attname, kind, bound, default in copy_columns()[1]:
        value = row.get(attname, default)
        if kind == "JSONField":
            values.append(_json_text(value))
        else:
            values.append(_fit(value.replace("\x00", "") if isinstance(value, str) else value, kind, bound))
    return tuple(values)
