"""The Django admin: admins see users and keys, can revoke a key, and never see a secret."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import services
from accounts.models import GatewayKey, UpstreamKey, User, UserUpstreamKey
from testing.factories import PASSWORD, make_key, make_user

BYOK = "sk-or-v1-admin-page-byok-55aa"
POOL = "sk-or-v1-admin-page-pool-66bb"


@pytest.fixture
def setup(db, sim):  # a BYOK key is checked with the upstream before it is saved
    admin, user = make_user(admin=True), make_user()
    secret = make_key(user, name="visible-key")
    services.user_upstream_key_set(user=user, api_key=BYOK)
    services.upstream_key_add(api_key=POOL, label="pool-one")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    forbidden = [secret, secret.removeprefix("sk-gw-"), BYOK, POOL, GatewayKey.objects.get().key_hash,
                 UserUpstreamKey.objects.get().encrypted, UpstreamKey.objects.get().encrypted,
                 UpstreamKey.objects.get().key_hash]
    return {"admin": admin, "user": user, "client": client, "forbidden": forbidden}


def _page(setup, url: str) -> str:
    response = setup["client"].get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    for value in setup["forbidden"]:
        assert value not in html, f"{url} shows a secret"
    return html


def test_admin_lists_users_and_keys_without_secrets(setup):
    key = GatewayKey.objects.get()
    users = _page(setup, "/django-admin/accounts/user/")
    assert setup["user"].email in users and setup["admin"].email in users
    keys = _page(setup, "/django-admin/accounts/gatewaykey/")
    assert "visible-key" in keys and key.prefix in keys
    _page(setup, f"/django-admin/accounts/gatewaykey/{key.id}/change/")
    _page(setup, f"/django-admin/accounts/user/{setup['user'].id}/change/")
    _page(setup, f"/django-admin/accounts/user/{setup['user'].id}/password/")
    pool = _page(setup, "/django-admin/accounts/upstreamkey/")
    assert "pool-one" in pool and "66bb" in pool
    _page(setup, f"/django-admin/accounts/upstreamkey/{UpstreamKey.objects.get().id}/change/")
    _page(setup, "/django-admin/")


def test_admin_can_add_a_user(setup):
    client = setup["client"]
    _page(setup, "/django-admin/accounts/user/add/")
    response = client.post("/django-admin/accounts/user/add/", {
        "email": "added@example.com", "password1": PASSWORD, "password2": PASSWORD, "role": "user",
        "usable_password": "true", "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
    })
    assert response.status_code == 302
    assert User.objects.get(email="added@example.com").check_password(PASSWORD)


def test_admin_revokes_a_key(setup):
    client = setup["client"]
    key = GatewayKey.objects.get()
    _page(setup, "/django-admin/accounts/gatewaykey/")
    response = client.post("/django-admin/accounts/gatewaykey/", {
        "action": "revoke", "_selected_action": [str(key.id)],
        "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
    })
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.deleted_at is not None and key.enabled is False


def test_non_admins_are_sent_to_the_admin_login(setup):
    client = Client()
    client.force_login(setup["user"])
    response = client.get("/django-admin/accounts/gatewaykey/")
    assert response.status_code == 302 and "/django-admin/login/" in response["Location"]
