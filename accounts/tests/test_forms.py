"""Pages and the console accept no more than the API does: the form comes back with the field's error, 400."""

from __future__ import annotations

import dataclasses
from contextlib import closing
from decimal import Decimal

import pytest
from django.conf import settings

from accounts.models import CreditAccount, GatewayKey, UpstreamKey, User, UserUpstreamKey
from testing.browser import csrf_form, session_client
from testing.factories import make_user


@pytest.fixture
def open_registration(monkeypatch):
    monkeypatch.setattr(settings, "GATEWAY", dataclasses.replace(settings.GATEWAY, registration_open=True))


def test_register_refuses_a_non_email_and_one_over_254_characters(gateway, open_registration):
    with closing(session_client(gateway.url, make_user())) as client:
        client.post("/logout/", data=csrf_form(client))
        client.get("/register/")
        for email in ("not-an-email", "a" * 250 + "@example.com"):
            r = client.post("/register/", data=csrf_form(client, email=email, password="long-enough-pass-9"))
            assert r.status_code == 400
            assert 'role="alert"' in r.text and "Email:" in r.text
        assert User.objects.count() == 1


def test_settings_refuse_a_huge_byok_key_and_a_key_name_past_its_column(gateway):
    user = make_user()
    with closing(session_client(gateway.url, user)) as client:
        r = client.post("/settings/api-key/", data=csrf_form(client, api_key="k" * 100_000), follow_redirects=True)
        assert r.url.path == "/settings/"  # a plain form post goes back to the page, with the message
        assert "API key: Ensure this value has at most 500 characters" in r.text
        r = client.post("/settings/keys/", data=csrf_form(client, name="n" * 101), headers={"HX-Request": "true"})
        assert r.status_code == 400
        assert "Name: Ensure this value has at most 100 characters" in r.text
    assert not UserUpstreamKey.objects.filter(user=user).exists()
    assert not GatewayKey.objects.filter(user=user).exists()


def test_console_refuses_credits_past_the_column_and_pool_fields_past_theirs(gateway, admin_http):
    user = make_user()
    r = admin_http.post(f"/console/users/{user.id}/credits", data=csrf_form(admin_http, amount="1e12"),
                        headers={"HX-Request": "true"})
    assert r.status_code == 400
    assert "Amount:" in r.text
    r = admin_http.post(f"/console/users/{user.id}/credits", data=csrf_form(admin_http, amount="0.0000001"),
                        headers={"HX-Request": "true"})
    assert r.status_code == 400  # more decimal places than the ledger keeps: refused, as by the API
    assert CreditAccount.objects.get(user=user).balance == Decimal("0")

    r = admin_http.post("/console/upstream-keys/add", data=csrf_form(admin_http, api_key="sk-or-v1-" + "a" * 30,
                                                                      label="l" * 101), follow_redirects=True)
    assert "Label: Ensure this value has at most 100 characters" in r.text
    r = admin_http.post("/console/upstream-keys/add", data=csrf_form(admin_http, api_key="k" * 100_000),
                        follow_redirects=True)
    assert "API key: Ensure this value has at most 500 characters" in r.text
    assert not UpstreamKey.objects.exists()
