"""Registration over real HTTP: closed by default, open when configured, or by an admin's single-use,
expiring invite (REST and the console's users page); a self-registered account gets the default pool quota."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from accounts.models import Invite, User
from accounts.tests.conftest import assert_error, set_gateway_config
from testing.browser import csrf_form
from testing.factories import PASSWORD, make_user


def _invite(api, admin, **body) -> dict:
    response = api.post("/admin/invites", headers=api.login(admin), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _token(link: str) -> str:
    return link.split("invite=", 1)[1]


def test_closed_registration_refuses_the_rest_api_and_the_page_with_403(api, http, gateway):
    body = assert_error(api.post("/auth/register", json={"email": "stranger@example.com", "password": PASSWORD}), 403)
    assert "ask an admin" in body["message"]
    login_page = http.get(f"{gateway.url}/login/")
    assert "Create an account" not in login_page.text
    form = {"email": "stranger@example.com", "password": PASSWORD, "csrfmiddlewaretoken": http.cookies["csrftoken"]}
    for page in (http.get(f"{gateway.url}/register/"), http.post(f"{gateway.url}/register/", data=form)):
        assert page.status_code == 403
        assert "Registration is closed; ask an admin for an invite." in page.text
    assert not User.objects.filter(email="stranger@example.com").exists()


@pytest.mark.usefixtures("open_registration")
def test_open_registration_gives_the_default_pool_quota(api, settings):
    set_gateway_config(settings, user_default_rpm=7, user_default_daily_requests=11)
    response = api.post("/auth/register", json={"email": "open@example.com", "password": PASSWORD})
    assert response.status_code == 201, response.text
    user = User.objects.get(email="open@example.com")
    assert (user.rpm, user.daily_requests) == (7, 11)
    me = api.get("/auth/me", headers=api.login(user)).json()
    assert (me["rpm"], me["dailyRequests"]) == (7, 11)


@pytest.mark.usefixtures("open_registration")
def test_a_zero_default_quota_leaves_the_gateway_defaults(api, settings):
    set_gateway_config(settings, user_default_rpm=0, user_default_daily_requests=0)
    assert api.post("/auth/register", json={"email": "free@example.com", "password": PASSWORD}).status_code == 201
    user = User.objects.get(email="free@example.com")
    assert (user.rpm, user.daily_requests) == (None, None)


def test_an_admin_invite_works_once_while_registration_is_closed(api):
    admin = make_user(admin=True)
    invite = _invite(api, admin)
    assert invite["link"].startswith("/register/?invite=") and invite["url"].endswith(invite["link"])
    token = _token(invite["link"])
    assert token not in Invite.objects.get(pk=invite["id"]).token_hash

    response = api.post("/auth/register", json={"email": "invited@example.com", "password": PASSWORD,
                                                "invite": token})
    assert response.status_code == 201, response.text
    user = User.objects.get(email="invited@example.com")
    used = Invite.objects.get(pk=invite["id"])
    assert used.used_by == user and used.used_at is not None
    assert user.rpm is not None and user.daily_requests is not None  # the default pool quota

    body = assert_error(api.post("/auth/register", json={"email": "second@example.com", "password": PASSWORD,
                                                         "invite": token}), 403)
    assert "already used" in body["message"] and body["extra"]["param"] == "invite"
    assert not User.objects.filter(email="second@example.com").exists()


def test_an_expired_or_unknown_invite_is_refused(api):
    admin = make_user(admin=True)
    invite = _invite(api, admin, expiresInHours=1)
    Invite.objects.filter(pk=invite["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    for token in (_token(invite["link"]), "no-such-invite"):
        body = assert_error(api.post("/auth/register", json={"email": "late@example.com", "password": PASSWORD,
                                                             "invite": token}), 403)
        assert "expired" in body["message"]
    assert not User.objects.filter(email="late@example.com").exists()


def test_a_refused_password_leaves_the_invite_usable(api):
    admin = make_user(admin=True)
    token = _token(_invite(api, admin)["link"])
    assert_error(api.post("/auth/register", json={"email": "weak@example.com", "password": "short",
                                                  "invite": token}), 400)
    assert api.post("/auth/register", json={"email": "weak@example.com", "password": PASSWORD,
                                            "invite": token}).status_code == 201


@pytest.mark.parametrize("hours", [0, 721, "soon", None])
def test_an_invite_with_a_bad_lifetime_is_400_and_nothing_is_made(api, hours):
    admin = make_user(admin=True)
    body = assert_error(api.post("/admin/invites", headers=api.login(admin), json={"expiresInHours": hours}), 400)
    assert "expiresInHours" in body["extra"]["fields"]
    assert not Invite.objects.exists()


def test_only_an_admin_creates_invites(api):
    assert_error(api.post("/admin/invites"), 401)
    assert_error(api.post("/admin/invites", headers=api.login(make_user())), 403)
    assert not Invite.objects.exists()


def test_the_console_invite_button_gives_a_link_that_registers_once(gateway, admin_http):
    page = admin_http.get("/console/users/")
    assert page.status_code == 200 and "Create invite link" in page.text
    response = admin_http.post("/console/users/invite", data=csrf_form(admin_http, hours="2"))
    assert response.status_code == 200, response.text
    url = re.search(r'data-testid="invite-link">([^<]+)<', response.text).group(1)
    assert url.startswith(f"{gateway.url}/register/?invite=")
    assert Invite.objects.get().expires_at <= timezone.now() + timedelta(hours=2)

    with httpx.Client(timeout=30) as guest:
        form = guest.get(url)
        assert form.status_code == 200 and 'name="invite"' in form.text
        token = _token(url)
        registered = guest.post(f"{gateway.url}/register/", data={
            "email": "guest@example.com", "password": "a-long-fresh-passphrase", "invite": token,
            "csrfmiddlewaretoken": guest.cookies["csrftoken"]})
        assert registered.status_code == 302 and registered.headers["location"] == "/playground/"
    assert User.objects.filter(email="guest@example.com").exists()
    again = httpx.get(url)
    assert again.status_code == 403 and "already used" in again.text


@pytest.mark.parametrize("hours", ["0", "9999"])
def test_the_console_refuses_a_bad_invite_lifetime_with_400(gateway, admin_http, hours):
    response = admin_http.post("/console/users/invite", data=csrf_form(admin_http, hours=hours))
    assert response.status_code == 400
    assert "Valid for" in response.text and "invite-link" not in response.text
    assert not Invite.objects.exists()


def test_a_nul_in_the_invite_lifetime_is_refused_at_the_edge_naming_the_field(gateway, admin_http):
    response = admin_http.post("/console/users/invite", data=csrf_form(admin_http, hours="x\x00"))
    assert response.status_code == 400
    assert "hours" in response.text and "invite-link" not in response.text
    assert not Invite.objects.exists()
