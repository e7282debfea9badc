"""JWTs over real HTTP: refresh tokens rotate and are spent once; logout, a password change and an
admin disabling the account end every refresh and access token, on the management API and on /v1."""

from __future__ import annotations

from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.tests.conftest import assert_error
from testing.factories import PASSWORD, make_user

NEW_PASSWORD = "another-horse-staple-42"


def _login(api, user, password: str = PASSWORD) -> dict:
    response = api.post("/auth/login", json={"email": user.email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def _bearer(access: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access}"}


def _works_on_rest_and_v1(api, http, gateway, access: str) -> tuple[int, int]:
    """Status of /api/auth/me and of GET /v1/models with this access token."""
    return (api.get("/auth/me", headers=_bearer(access)).status_code,
            http.get(f"{gateway.url}/v1/models", headers=_bearer(access)).status_code)


def test_refresh_answers_a_new_pair_and_the_used_refresh_token_is_spent(api):
    user = make_user()
    first = _login(api, user)
    response = api.post("/auth/refresh", json={"refresh": first["refresh"]})
    assert response.status_code == 200, response.text
    second = response.json()
    assert set(second) == {"access", "refresh"} and second["refresh"] != first["refresh"]
    assert api.get("/auth/me", headers=_bearer(second["access"])).json()["id"] == user.id

    body = assert_error(api.post("/auth/refresh", json={"refresh": first["refresh"]}), 401)
    assert "already used" in body["message"]
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1
    # The new refresh token works, once.
    assert api.post("/auth/refresh", json={"refresh": second["refresh"]}).status_code == 200
    assert_error(api.post("/auth/refresh", json={"refresh": second["refresh"]}), 401)


def test_logout_ends_every_refresh_and_access_token_of_the_user(api, http, gateway):
    user = make_user()
    phone, laptop = _login(api, user), _login(api, user)
    assert _works_on_rest_and_v1(api, http, gateway, laptop["access"]) == (200, 200)

    assert api.post("/auth/logout", headers=_bearer(phone["access"])).status_code == 204

    for tokens in (phone, laptop):
        assert _works_on_rest_and_v1(api, http, gateway, tokens["access"]) == (401, 401)
        assert_error(api.post("/auth/refresh", json={"refresh": tokens["refresh"]}), 401)
    assert not OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).exists()
    # Logging in again gives tokens that work.
    assert _works_on_rest_and_v1(api, http, gateway, _login(api, user)["access"]) == (200, 200)


def test_logout_needs_a_valid_access_token(api):
    assert_error(api.post("/auth/logout"), 401)
    assert_error(api.post("/auth/logout", headers=_bearer("not.a.token")), 401)


def test_a_password_change_ends_the_old_tokens_and_answers_a_working_pair(api, http, gateway):
    user = make_user()
    old = _login(api, user)
    other_device = _login(api, user)
    response = api.post("/auth/change-password", headers=_bearer(old["access"]),
                        json={"oldPassword": PASSWORD, "newPassword": NEW_PASSWORD})
    assert response.status_code == 200, response.text
    fresh = response.json()
    assert fresh["changed"] is True

    for tokens in (old, other_device):
        assert _works_on_rest_and_v1(api, http, gateway, tokens["access"]) == (401, 401)
        assert_error(api.post("/auth/refresh", json={"refresh": tokens["refresh"]}), 401)
    assert _works_on_rest_and_v1(api, http, gateway, fresh["access"]) == (200, 200)
    assert api.post("/auth/refresh", json={"refresh": fresh["refresh"]}).status_code == 200


def test_a_refused_password_change_keeps_the_tokens(api):
    user = make_user()
    tokens = _login(api, user)
    assert_error(api.post("/auth/change-password", headers=_bearer(tokens["access"]),
                          json={"oldPassword": "wrong-password-1", "newPassword": NEW_PASSWORD}), 400)
    assert api.get("/auth/me", headers=_bearer(tokens["access"])).status_code == 200
    assert api.post("/auth/refresh", json={"refresh": tokens["refresh"]}).status_code == 200


def test_disabling_a_user_blacklists_their_refresh_tokens_and_reenabling_does_not_revive_them(api, http, gateway):
    admin = make_user(admin=True)
    user = make_user()
    tokens = _login(api, user)
    admin_headers = api.login(admin)
    assert api.put(f"/admin/users/{user.id}/status", headers=admin_headers, json={"active": False}).status_code == 200
    assert not OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).exists()
    assert api.put(f"/admin/users/{user.id}/status", headers=admin_headers, json={"active": True}).status_code == 200

    assert _works_on_rest_and_v1(api, http, gateway, tokens["access"]) == (401, 401)
    assert_error(api.post("/auth/refresh", json={"refresh": tokens["refresh"]}), 401)
    assert _works_on_rest_and_v1(api, http, gateway, _login(api, user)["access"]) == (200, 200)
