"""The management API refuses what its columns cannot hold, with 400 naming the field, and writes nothing."""

from __future__ import annotations

from decimal import Decimal

from accounts.models import CreditAccount, GatewayKey, LedgerEntry, UpstreamKey, User
from accounts.tests.conftest import assert_error
from testing.factories import make_key, make_user

INT_MAX = 2**31 - 1  # a PositiveIntegerField in PostgreSQL


def _refused(response, field: str) -> None:
    body = assert_error(response, 400)
    assert field in body["extra"].get("fields", {}) or body["extra"].get("param") == field, body
    assert field in body["message"], body


def test_integer_limits_past_their_column_are_refused_and_the_row_stays(api):
    admin, user = make_user(admin=True), make_user()
    make_key(user, name="limited")
    key = GatewayKey.objects.get(user=user)
    headers = api.login(admin)

    _refused(api.patch(f"/admin/keys/{key.id}", json={"rpm": 10_000_000_000}, headers=headers), "rpm")
    _refused(api.patch(f"/admin/keys/{key.id}", json={"tpm": INT_MAX + 1}, headers=headers), "tpm")
    _refused(api.put(f"/admin/users/{user.id}/limits", json={"rpm": INT_MAX + 1}, headers=headers), "rpm")
    _refused(api.put("/admin/usage-limits", json={"modelId": None, "maxRequestsPerDay": INT_MAX + 1,
                                                  "maxTokensPerDay": None}, headers=headers), "maxRequestsPerDay")
    _refused(api.put("/admin/usage-limits", json={"modelId": None, "maxRequestsPerDay": None,
                                                  "maxTokensPerDay": 2**63}, headers=headers), "maxTokensPerDay")
    key.refresh_from_db()
    assert (key.rpm, key.tpm) == (None, None)
    assert User.objects.get(pk=user.pk).rpm is None

    ok = api.patch(f"/admin/keys/{key.id}", json={"rpm": INT_MAX}, headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["rpm"] == INT_MAX


def test_decimals_that_overflow_their_column_are_refused(api):
    admin, user = make_user(admin=True), make_user()
    make_key(user, name="budgeted")
    key = GatewayKey.objects.get(user=user)
    headers = api.login(admin)

    _refused(api.patch(f"/admin/keys/{key.id}", json={"budget": "1000000000"}, headers=headers), "budget")
    _refused(api.put(f"/admin/users/{user.id}/limits", json={"budget": "1.1234567"}, headers=headers), "budget")
    _refused(api.post(f"/admin/users/{user.id}/credits", json={"amount": "1e12"}, headers=headers), "amount")

    top = api.post(f"/admin/users/{user.id}/credits", json={"amount": "99999999.999999"}, headers=headers)
    assert top.status_code == 201, top.text
    # a second top-up would take the balance past numeric(14, 6): refused, and nothing is written
    _refused(api.post(f"/admin/users/{user.id}/credits", json={"amount": "1"}, headers=headers), "amount")
    assert CreditAccount.objects.get(user=user).balance == Decimal("99999999.999999")
    assert LedgerEntry.objects.filter(user=user).count() == 1


def test_texts_longer_than_their_column_are_refused(api):
    admin, user = make_user(admin=True), make_user()
    headers = api.login(admin)

    _refused(api.post("/auth/login", json={"email": "a" * 250 + "@example.com", "password": "x" * 10}), "email")
    _refused(api.post("/user/keys", json={"name": "n" * 101}, headers=api.login(user)), "name")
    _refused(api.put("/user/api-key", json={"apiKey": "k" * 100_000}, headers=api.login(user)), "apiKey")
    _refused(api.post("/admin/upstream-keys", json={"apiKey": "sk-or-v1-" + "a" * 30, "label": "l" * 101},
                      headers=headers), "label")
    _refused(api.post("/admin/upstream-keys/import?account=" + "a" * 101, content="sk-or-v1-" + "b" * 30,
                      headers={**headers, "Content-Type": "text/plain"}), "account")
    assert not GatewayKey.objects.filter(user=user).exists()
    assert not UpstreamKey.objects.exists()


def test_an_imported_file_holding_a_nul_is_refused_whole(api):
    headers = {**api.login(make_user(admin=True)), "Content-Type": "text/plain"}
    text = "sk-or-v1-" + "c" * 30 + "\nsk-or-v1-\x00" + "d" * 30 + "\n"
    assert_error(api.post("/admin/upstream-keys/import", content=text.encode(), headers=headers), 400)
    assert not UpstreamKey.objects.exists()


def test_dates_past_year_9999_or_unparsable_are_refused(api):
    user, admin = make_user(), make_user(admin=True)
    headers = api.login(user)
    for value in ("10000-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00", "31/12/2030", "2026-02-30T00:00:00Z"):
        _refused(api.post("/user/keys", json={"name": "dated", "expiresAt": value}, headers=headers), "expiresAt")
    assert not GatewayKey.objects.filter(user=user).exists()

    admin_headers = api.login(admin)
    for params, field in (({"to": "9999-12-31"}, "to"), ({"from": "9999-12-31T23:59:59-01:00"}, "from"),
                          ({"to": "9999-12-31T23:59:59.999999+00:00"}, "to"), ({"from": "yesterday"}, "from"),
                          ({"user": "²"}, "user"), ({"status": "²"}, "status"), ({"user": "9" * 30}, "user")):
        _refused(api.get("/admin/chat-logs", params=params, headers=admin_headers), field)
        _refused(api.get("/admin/chat-logs/export", params=params, headers=admin_headers), field)
    _refused(api.get("/user/chat-logs", params={"to": "9999-12-31"}, headers=headers), "to")
