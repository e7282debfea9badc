"""The device flow end to end: a CLI asks for a code over HTTP, a logged-in user approves it on /device/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import DeviceCode
from accounts.tests.conftest import assert_error
from testing.factories import PASSWORD, make_user


def _browser(user) -> Client:
    """A browser session with CSRF checks on, logged in through the real login page."""
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    response = client.post("/login/", {"email": user.email, "password": PASSWORD, "next": "/",
                                       "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 302
    return client


def _approve(client: Client, user_code: str, decision: str = "approve"):
    page = client.get(f"/device/?code={user_code}")
    assert page.status_code == 200 and user_code in page.content.decode()
    return client.post("/device/", {"code": user_code, "decision": decision,
                                    "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def _poll_error(api, device_code: str) -> dict:
    return assert_error(api.post("/auth/device/token", json={"device_code": device_code}), 400)["extra"]


def test_device_flow_end_to_end(api):
    user = make_user()
    response = api.post("/auth/device/code")
    assert response.status_code == 200
    grant = response.json()
    assert grant["verification_uri"].endswith("/device/") and grant["user_code"] in grant["verification_uri_complete"]
    assert grant["expires_in"] == 600 and grant["interval"] == 5
    assert DeviceCode.objects.get().device_code_hash != grant["device_code"]

    assert _poll_error(api, grant["device_code"]) == {"error": "authorization_pending"}
    assert _poll_error(api, grant["device_code"]) == {"error": "slow_down", "interval": 10}

    browser = _browser(user)
    approved = _approve(browser, grant["user_code"].lower().replace("-", ""))  # typed loosely
    assert approved.status_code == 200 and "Device approved" in approved.content.decode()

    tokens = api.post("/auth/device/token", json={"device_code": grant["device_code"]})
    assert tokens.status_code == 200
    me = api.get("/auth/me", headers={"Authorization": f"Bearer {tokens.json()['access']}"})
    assert me.json()["email"] == user.email
    assert _poll_error(api, grant["device_code"]) == {"error": "invalid_grant"}


def test_device_page_needs_login_and_csrf(api):
    user = make_user()
    grant = api.post("/auth/device/code").json()
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.get("/device/").status_code == 302
    browser = _browser(user)
    forged = browser.post("/device/", {"code": grant["user_code"], "decision": "approve"})
    assert forged.status_code == 403
    assert DeviceCode.objects.get().status == DeviceCode.Status.PENDING


def test_a_denied_code_gives_access_denied(api):
    grant = api.post("/auth/device/code").json()
    denied = _approve(_browser(make_user()), grant["user_code"], decision="deny")
    assert "Device denied" in denied.content.decode()
    assert _poll_error(api, grant["device_code"]) == {"error": "access_denied"}


def test_an_expired_code_cannot_be_approved_or_exchanged(api):
    grant = api.post("/auth/device/code").json()
    DeviceCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    page = _approve(_browser(make_user()), grant["user_code"])
    assert "unknown, expired or already used" in page.content.decode()
    assert _poll_error(api, grant["device_code"]) == {"error": "expired_token"}


@pytest.mark.parametrize("payload", [{}, {"device_code": "never-issued"}])
def test_unknown_or_missing_device_codes_fail(api, payload):
    response = api.post("/auth/device/token", json=payload)
    body = assert_error(response, 400)
    if payload:
        assert body["extra"] == {"error": "invalid_grant"}
