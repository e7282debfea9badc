"""Input rules derived from what the database can hold, shared by REST serializers and page forms.

Each rule is read off the model field it protects (an integer column's range, a decimal's
digits, a text column's length), so the REST API, the pages and the console refuse exactly
the same values, and a value that passes always fits its column. ``unstorable`` says why a
piece of text cannot be stored at all (PostgreSQL holds no NUL, and no lone surrogate in
UTF-8); the request guard (``gateway_project.input_guard``) and JSON form fields use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from rest_framework import serializers

# PostgreSQL's ranges (the production database); SQLite would hold more, the rules stay the same.
INTEGER_RANGES = BaseDatabaseOperations.integer_field_ranges
MAX_JSON_DEPTH = 32
API_KEY_MIN_LENGTH = 8
API_KEY_MAX_LENGTH = 500
EMAIL_MAX_LENGTH = 254
PASSWORD_MAX_LENGTH = 256


def column(model: type[models.Model], name: str) -> models.Field:
    """Return the model field ``name`` of ``model``."""
    return model._meta.get_field(name)


def integer_range(model: type[models.Model], name: str) -> tuple[int, int]:
    """Return the smallest and largest integer the column ``model.name`` can hold."""
    return INTEGER_RANGES[column(model, name).get_internal_type()]


def decimal_shape(model: type[models.Model], name: str) -> dict[str, int]:
    """Return ``{"max_digits", "decimal_places"}`` of the decimal column ``model.name``."""
    field = column(model, name)
    return {"max_digits": field.max_digits, "decimal_places": field.decimal_places}


def max_length(model: type[models.Model], name: str) -> int:
    """Return the length limit of the text column ``model.name``."""
    return column(model, name).max_length


# ---------------------------------------------------------------- text that cannot be stored


def unstorable(text: str) -> str | None:
    """Return why ``text`` cannot be stored (a NUL or a lone surrogate), or None when it can."""
    if "\x00" in text:
        return "must not contain NUL characters"
    if any("\ud800" <= c <= "\udfff" for c in text):
        return "must not contain unpaired surrogate characters"
    return None


def shown_name(name: str) -> str:
    """Return a field name fit to be shown in an error message (NUL and surrogates as escapes)."""
    if unstorable(name) is None and name.isprintable():
        return name
    return name.encode("unicode_escape").decode("ascii")


def first_unstorable(value: Any, path: str = "") -> tuple[str, str] | None:
    """Return ``(path, reason)`` of the first string (key or value) inside ``value`` that cannot be stored.

    ``value`` is a decoded JSON value; nesting deeper than ``MAX_JSON_DEPTH`` is itself a reason.
    """
    for where, depth, item in _walk(value, path):
        if depth > MAX_JSON_DEPTH:
            return where, f"is nested deeper than {MAX_JSON_DEPTH} levels"
        if isinstance(item, str) and (reason := unstorable(item)):
            return where, reason
    return None


def _walk(value: Any, path: str) -> Iterator[tuple[str, int, Any]]:
    """Yield ``(path, depth, item)`` for every key and value, iteratively (no recursion limit to hit)."""
    stack = [(path, 0, value)]
    while stack:
        where, depth, item = stack.pop()
        yield where, depth, item
        if isinstance(item, dict):
            for key, inner in item.items():
                inner_path = f"{where}.{shown_name(key)}" if where else shown_name(key)
                yield inner_path, depth + 1, key
                stack.append((inner_path, depth + 1, inner))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", depth + 1, inner) for i, inner in enumerate(item))


def reject_unstorable(value: Any) -> None:
    """A Django validator (forms and DRF fields alike): refuse text or JSON that cannot be stored."""
    found = unstorable(value) if isinstance(value, str) else first_unstorable(value)
    if isinstance(found, str):
        raise ValidationError(f"This value {found}.", code="unstorable")
    if found:
        where, reason = found
        raise ValidationError(f"{where or 'This value'} {reason}.", code="unstorable")


# ---------------------------------------------------------------- REST fields (DRF)


def _bounds(model: type[models.Model], name: str, min_value: int | None) -> dict[str, int]:
    low, high = integer_range(model, name)
    return {"min_value": low if min_value is None else max(low, min_value), "max_value": high}



def api_integer(model: type[models.Model], name: str, *, min_value: int | None = None, **kwargs) -> serializers.IntegerField:
    """A DRF integer field bounded by the column ``model.name`` (``min_value`` may narrow it)."""
    return serializers.IntegerField(**_bounds(model, name, min_value), **kwargs)


def api_decimal(model: type[models.Model], name: str, **kwargs) -> serializers.DecimalField:
    """A DRF decimal field with the digits and decimal places of the column ``model.name``."""
    return serializers.DecimalField(**decimal_shape(model, name), **kwargs)


def api_text(model: type[models.Model], name: str, **kwargs) -> serializers.CharField:
    """A DRF text field no longer than the column ``model.name``."""
    return serializers.CharField(max_length=max_length(model, name), **kwargs)


def api_email(**kwargs) -> serializers.EmailField:
    """A DRF email field (RFC 5321's 254 characters, the length of ``User.email``)."""
    return serializers.EmailField(max_length=EMAIL_MAX_LENGTH, **kwargs)


def api_json(**kwargs) -> serializers.DictField:
    """A DRF JSON object field whose strings can all be stored."""
    return serializers.DictField(validators=[reject_unstorable], **kwargs)


# ---------------------------------------------------------------- page fields (Django forms)


def form_integer(model: type[models.Model], name: str, *, min_value: int | None = None, **kwargs) -> forms.IntegerField:
    """A form integer field bounded by the column ``model.name`` (``min_value`` may narrow it)."""
    return forms.IntegerField(**_bounds(model, name, min_value), **kwargs)


def form_decimal(model: type[models.Model], name: str, **kwargs) -> forms.DecimalField:
    """A form decimal field with the digits and decimal places of the column ``model.name``."""
    return forms.DecimalField(**decimal_shape(model, name), **kwargs)


def form_text(model: type[models.Model], name: str, **kwargs) -> forms.CharField:
    """A form text field no longer than the column ``model.name``."""
    return forms.CharField(max_length=max_length(model, name), **kwargs)


def form_email(**kwargs) -> forms.EmailField:
    """A form email field with the same limit as ``api_email``."""
    return forms.EmailField(max_length=EMAIL_MAX_LENGTH, **kwargs)
