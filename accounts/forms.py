"""The account pages' and console's forms: the same field rules as the REST serializers (gateway_project.validators)."""

from __future__ import annotations

from django import forms

from accounts.models import CACHE_TTL_MAX_S, GatewayKey, LedgerEntry, UpstreamKey
from gateway_project.validators import (
    API_KEY_MAX_LENGTH,
    PASSWORD_MAX_LENGTH,
    form_decimal,
    form_email,
    form_integer,
    form_text,
)


class CredentialsForm(forms.Form):
    """Registration: what ``POST /api/auth/register`` accepts."""

    email = form_email(label="Email")
    password = forms.CharField(max_length=PASSWORD_MAX_LENGTH, strip=False, label="Password")


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(max_length=PASSWORD_MAX_LENGTH, strip=False, label="Current password")
    new_password = forms.CharField(max_length=PASSWORD_MAX_LENGTH, strip=False, label="New password")


class UpstreamKeyForm(forms.Form):
    """A BYOK key (the service checks what an API key looks like)."""

    api_key = forms.CharField(max_length=API_KEY_MAX_LENGTH, label="API key")


class GatewayKeyForm(forms.Form):
    name = form_text(GatewayKey, "name", label="Name")


class GatewayKeyCacheForm(forms.Form):
    """A key's response-cache TTL in seconds (empty: the server's default)."""

    cache_ttl = forms.IntegerField(min_value=0, max_value=CACHE_TTL_MAX_S, required=False, label="Cache TTL")


class PoolKeyForm(forms.Form):
    """A key for the server pool, from the console."""

    api_key = forms.CharField(max_length=API_KEY_MAX_LENGTH, label="API key")
    label = form_text(UpstreamKey, "label", required=False, label="Label")
    account = form_text(UpstreamKey, "account", required=False, label="Account")


class PoolKeyLimitsForm(forms.Form):
    """A pool key's own known free-tier limits; blank means the configured default."""

    free_rpm = form_integer(UpstreamKey, "free_rpm", min_value=1, required=False, label="Requests a minute")
    free_rpd = form_integer(UpstreamKey, "free_rpd", min_value=1, required=False, label="Requests a day")


class PoolImportForm(forms.Form):
    account = form_text(UpstreamKey, "account", required=False, label="Account")


class CreditsForm(forms.Form):
    amount = form_decimal(LedgerEntry, "amount", label="Amount")
    note = form_text(LedgerEntry, "note", required=False, label="Note")
