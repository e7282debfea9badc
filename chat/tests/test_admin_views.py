"""Admin console pages: dashboard, request logs (htmx filters, detail, export link), and who may see them."""

from __future__ import annotations

from contextlib import closing

from chat.models import RequestLog
from chat.tests.conftest import LLAMA, QWEN
from testing.browser import csrf_form, session_client
from testing.env import POOL_KEYS
from testing.factories import make_user
from testing.servers import wait_until

USER = [{"role": "user", "content": "hi"}]

CONSOLE_PAGES = ["/console/", "/console/logs/", "/console/logs/1/", "/console/models/", "/console/users/",
                 "/console/upstream-keys/"]
CONSOLE_FORMS = ["/console/models/sync", "/console/users/1/role", "/console/users/1/active",
                 "/console/users/1/credits", "/console/upstream-keys/add", "/console/upstream-keys/import"]


def _send(client, model: str, **extra) -> RequestLog:
    raw = client.chat.completions.with_raw_response.create(model=model, messages=USER, **extra)
    return wait_until(lambda: RequestLog.objects.filter(request_id=raw.headers["x-request-id"]).first())


def test_anonymous_visitors_are_sent_to_log_in_and_users_get_403(gateway, http):
    for path in CONSOLE_PAGES:
        r = http.get(f"{gateway.url}{path}")
        assert r.status_code == 302 and r.headers["location"] == f"/login/?next={path}", path
    user = make_user()
    with closing(session_client(gateway.url, user)) as client:
        for path in CONSOLE_PAGES:
            r = client.get(path)
            assert r.status_code == 403, path
            assert "console" not in r.text.lower() or "Dashboard" not in r.text
        for path in CONSOLE_FORMS:
            r = client.post(path, data=csrf_form(client, role="admin", active="true", amount="5", api_key="sk-or-xxxxxxxx9999"))
            assert r.status_code == 403, path
    assert user.__class__.objects.get(pk=user.pk).role == "user"


def test_every_console_form_needs_the_csrf_token(admin_http):
    for path in CONSOLE_FORMS:
        r = admin_http.post(path, data={"role": "user", "amount": "5", "api_key": "sk-or-xxxxxxxx9999"})
        assert r.status_code == 403, path
        assert "CSRF" in r.text
    for path in ("/console/users/", "/console/upstream-keys/", "/console/models/"):
        page = admin_http.get(path).text
        assert page.count('method="post"') == page.count('name="csrfmiddlewaretoken"') >= 2, path


def test_dashboard_charts_todays_requests_and_ranks_models_and_users(caller, admin_http):
    for model in (LLAMA, LLAMA, QWEN):
        _send(caller.client, model)
    r = admin_http.get("/console/")
    assert r.status_code == 200
    page = r.text
    assert 'data-testid="total-requests">3<' in page
    assert 'data-testid="total-errors">0<' in page
    assert page.count('<rect ') == 4 * 14  # four charts of 14 days
    assert f'">{LLAMA}</a></td><td>2<' in page and f'">{QWEN}</a></td><td>1<' in page
    assert f">{caller.user.email}</a></td><td>3<" in page
    assert 'data-testid="in-flight">0<' in page


def test_logs_page_filters_by_model_with_htmx_and_keeps_the_export_link(caller, admin_http):
    llama = _send(caller.client, LLAMA)
    qwen = _send(caller.client, QWEN)
    page = admin_http.get("/console/logs/").text
    assert page.startswith("<!doctype html>")
    assert f'href="/console/logs/{llama.id}/"' in page and f'href="/console/logs/{qwen.id}/"' in page
    assert 'hx-get="/console/logs/"' in page and 'action="/console/logs/"' in page

    r = admin_http.get("/console/logs/", params={"model": QWEN}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<div id="log-view"') and "<html" not in r.text  # the filters and the table
    assert f'name="model" value="{QWEN}"' in r.text  # the form says what is shown, so Back restores it too
    assert r.headers["HX-Push-Url"] == "/console/logs/?model=qwen%2Fqwen3-coder%3Afree"  # the address, from the server
    assert f'href="/console/logs/{qwen.id}/"' in r.text and f"/console/logs/{llama.id}/" not in r.text
    assert "1 request<" in r.text
    export = 'href="/api/admin/chat-logs/export?model=qwen%2Fqwen3-coder%3Afree"'
    assert export in r.text
    csv = admin_http.get("/api/admin/chat-logs/export?model=qwen%2Fqwen3-coder%3Afree")
    assert csv.status_code == 200 and csv.text.count("\n") == 2 and qwen.request_id in csv.text

    r = admin_http.get("/console/logs/", params={"status": "bogus"})
    assert r.status_code == 400 and "status must be" in r.text


def test_log_detail_shows_attempts_with_masked_keys(caller, admin_http):
    row = _send(caller.client, LLAMA, extra_body={"models": [QWEN], "sim": {"faults": {LLAMA: "503"}}})
    r = admin_http.get(f"/console/logs/{row.id}/")
    assert r.status_code == 200
    page = r.text
    assert row.request_id in page and caller.user.email in page
    attempts = page.split('data-testid="attempts"')[1]
    assert attempts.count("<tr>") == 4  # header and three attempts
    for key in POOL_KEYS:
        assert f"<code>…{key[-4:]}</code>" in attempts
        assert key not in page
    assert caller.secret not in page
    assert admin_http.get("/console/logs/999999/").status_code == 404
