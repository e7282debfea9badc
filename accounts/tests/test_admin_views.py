"""Admin console: users (role, status, credits through htmx row forms) and the upstream key pool."""

from __future__ import annotations

from decimal import Decimal

from accounts.models import LedgerEntry, UpstreamKey, User
from testing.browser import csrf_form
from testing.factories import make_user

HTMX = {"HX-Request": "true"}


def test_admin_changes_a_users_role_and_status_and_the_row_updates(admin_http):
    user = make_user()
    page = admin_http.get("/console/users/").text
    assert f'data-testid="user-{user.id}"' in page and user.email in page

    r = admin_http.post(f"/console/users/{user.id}/role", data=csrf_form(admin_http, role="admin"), headers=HTMX)
    assert r.status_code == 200
    assert r.text.lstrip().startswith(f'<tr id="user-{user.id}"') and "role is now admin." in r.text
    assert User.objects.get(pk=user.pk).role == "admin"

    r = admin_http.post(f"/console/users/{user.id}/active", data=csrf_form(admin_http, active="false"))
    assert r.status_code == 302 and r.headers["location"] == "/console/users/"
    assert User.objects.get(pk=user.pk).is_active is False
    assert f"{user.email}: disabled." in admin_http.get("/console/users/").text

    r = admin_http.post(f"/console/users/{user.id}/role", data=csrf_form(admin_http, role="owner"), headers=HTMX)
    assert r.status_code == 400 and "role must be one of" in r.text


def test_admin_cannot_demote_or_disable_themselves(admin_http):
    me = admin_http.user
    r = admin_http.post(f"/console/users/{me.id}/role", data=csrf_form(admin_http, role="user"), headers=HTMX)
    assert r.status_code == 400 and "cannot remove your own admin role" in r.text
    r = admin_http.post(f"/console/users/{me.id}/active", data=csrf_form(admin_http, active="false"), headers=HTMX)
    assert r.status_code == 400 and "cannot disable your own account" in r.text
    me.refresh_from_db()
    assert me.role == "admin" and me.is_active


def test_credit_top_up_changes_the_balance_and_writes_the_ledger(admin_http):
    user = make_user()
    r = admin_http.post(f"/console/users/{user.id}/credits", data=csrf_form(admin_http, amount="12.50", note="welcome"),
                        headers=HTMX)
    assert r.status_code == 200
    assert "balance is now $12.50." in r.text and 'data-testid="balance">$12.50<' in r.text
    entry = LedgerEntry.objects.get(user=user)
    assert entry.amount == Decimal("12.5") and entry.note == "welcome" and entry.created_by == admin_http.user
    for bad in ("", "ten", "NaN", "1e12", "0"):
        r = admin_http.post(f"/console/users/{user.id}/credits", data=csrf_form(admin_http, amount=bad), headers=HTMX)
        assert r.status_code == 400, bad
    assert LedgerEntry.objects.filter(user=user).count() == 1
    assert admin_http.post("/console/users/999999/credits", data=csrf_form(admin_http, amount="1")).status_code == 404


def test_upstream_keys_are_added_and_imported_and_listed_by_last4_only(admin_http):
    r = admin_http.post("/console/upstream-keys/add",
                        data=csrf_form(admin_http, api_key="sk-or-v1-secretsecret1234", label="main", account="acct-a"))
    assert r.status_code == 302
    page = admin_http.get("/console/upstream-keys/").text
    assert "Key …1234 is in the pool." in page and "<code>…1234</code>" in page and "acct-a" in page
    assert "sk-or-v1-secretsecret1234" not in page and "secretsecret" not in page

    text = "# pool\nsk-or-v1-another-aaaa5678\n\nsk-or-v1-secretsecret1234\n"
    r = admin_http.post("/console/upstream-keys/import", data=csrf_form(admin_http, account="acct-b"),
                        files={"file": ("keys.txt", text.encode(), "text/plain")})
    assert r.status_code == 302
    page = admin_http.get("/console/upstream-keys/").text
    assert "Imported: 1 added, 1 already in the pool." in page and "<code>…5678</code>" in page
    assert "another-aaaa5678" not in page
    r = admin_http.post("/console/upstream-keys/import", data=csrf_form(admin_http, keys="sk-or-v1-pasted-cccc9012"))
    assert r.status_code == 302
    assert UpstreamKey.objects.count() == 3

    r = admin_http.post("/console/upstream-keys/import", data=csrf_form(admin_http, keys="not a key line"))
    assert r.status_code == 400 and "Line 1 does not hold one API key" in r.text and "nothing was imported" in r.text
    admin_http.post("/console/upstream-keys/add", data=csrf_form(admin_http, api_key="short"))
    assert "does not look like an API key" in admin_http.get("/console/upstream-keys/").text
    assert UpstreamKey.objects.count() == 3


def test_a_pool_keys_known_limits_are_edited_on_the_pool_page(admin_http):
    from accounts.services import upstream_key_add

    record = upstream_key_add(api_key="sk-or-v1-limited-key-7777", account="acct-l")
    page = admin_http.get("/console/upstream-keys/").text
    assert f'data-testid="limits-{record.id}"' in page and "blank: 100000 a minute" in page
    r = admin_http.post(f"/console/upstream-keys/{record.id}/limits",
                        data=csrf_form(admin_http, free_rpm="5", free_rpd=""))
    assert r.status_code == 302
    record.refresh_from_db()
    assert (record.free_rpm, record.free_rpd) == (5, None)
    page = admin_http.get("/console/upstream-keys/").text
    assert "Key …7777: known limits saved." in page
    assert f'id="rpm-{record.id}" name="free_rpm" type="number" min="1" value="5"' in page
    for bad in ("0", "lots", "99999999999"):
        admin_http.post(f"/console/upstream-keys/{record.id}/limits", data=csrf_form(admin_http, free_rpm=bad))
        assert "A limit is a whole number of requests" in admin_http.get("/console/upstream-keys/").text
    record.refresh_from_db()
    assert record.free_rpm == 5
    assert admin_http.post("/console/upstream-keys/999999/limits", data=csrf_form(admin_http)).status_code == 404
