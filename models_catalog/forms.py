"""The console's catalog forms: the edge where page input is checked before a service writes anything."""

from __future__ import annotations

import json
import re

from django import forms

from gateway_project.validators import MAX_JSON_DEPTH, form_integer, reject_unstorable
from models_catalog.models import Provider, Strategy, UsageLimit

PROVIDER_KINDS = [(Provider.Kind.OPENAI, Provider.Kind.OPENAI.label),
                  (Provider.Kind.ANTHROPIC, Provider.Kind.ANTHROPIC.label)]


class ModelIdListField(forms.CharField):
    """Model ids separated by commas, spaces or new lines, as a list (empty: none)."""

    def to_python(self, value) -> list[str]:
        text = super().to_python(value)
        ids = [part for part in re.split(r"[\s,]+", text) if part]
        if len(ids) > 20:
            raise forms.ValidationError("At most 20 fallbacks.")
        if any(len(part) > 200 for part in ids):
            raise forms.ValidationError("A model id is at most 200 characters.")
        return ids


class JsonObjectField(forms.CharField):
    """A JSON object typed into a text area (empty: ``{}``)."""

    def to_python(self, value) -> dict:
        text = super().to_python(value).strip()
        if not text:
            return {}
        try:
            parsed = json.loads(text)
        except RecursionError as exc:
            raise forms.ValidationError(f"Nested deeper than {MAX_JSON_DEPTH} levels.") from exc
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f'Not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); '
                'write an object such as {"temperature": 0.2}.') from exc
        if not isinstance(parsed, dict):
            raise forms.ValidationError('Must be a JSON object such as {"temperature": 0.2}, '
                                        f"not a {type(parsed).__name__}.")
        reject_unstorable(parsed)
        return parsed


class AliasForm(forms.Form):
    alias = forms.CharField(max_length=200, label="Alias")
    model_id = forms.CharField(max_length=200, label="Model")
    fallbacks = ModelIdListField(required=False, label="Fallbacks")
    strategy = forms.ChoiceField(choices=Strategy.choices, required=False, label="Strategy")


class PresetForm(forms.Form):
    name = forms.SlugField(max_length=100, label="Name")
    model_id = forms.CharField(max_length=200, label="Model")
    fallbacks = ModelIdListField(required=False, label="Fallbacks")
    params = JsonObjectField(required=False, label="Parameters")
    strategy = forms.ChoiceField(choices=Strategy.choices, required=False, label="Strategy")


class UsageLimitForm(forms.Form):
    model_id = forms.CharField(max_length=200, required=False, label="Model")  # empty: the default
    max_requests_per_day = form_integer(UsageLimit, "max_requests_per_day", required=False, label="Requests per day")
    max_tokens_per_day = form_integer(UsageLimit, "max_tokens_per_day", required=False, label="Tokens per day")


class ProviderForm(forms.Form):
    slug = forms.SlugField(max_length=50, label="Slug")
    name = forms.CharField(max_length=100, label="Name")
    kind = forms.ChoiceField(choices=PROVIDER_KINDS, label="Kind")
    base_url = forms.URLField(max_length=300, label="Base URL", assume_scheme="https")
    api_key = forms.CharField(max_length=500, required=False, label="API key")
