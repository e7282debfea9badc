"""Browser journeys of an admin (Playwright + Debian Chromium): dashboard, a request's log, filters."""

from __future__ import annotations

from playwright.sync_api import expect

from chat.models import RequestLog
from chat.tests.conftest import LLAMA, QWEN
from testing.browser import log_in, screenshot
from testing.env import POOL_KEYS
from testing.factories import make_user
from testing.servers import wait_until

USER = [{"role": "user", "content": "hello browser"}]


def _send(client, model: str, **extra) -> RequestLog:
    raw = client.chat.completions.with_raw_response.create(model=model, messages=USER, **extra)
    return wait_until(lambda: RequestLog.objects.filter(request_id=raw.headers["x-request-id"]).first())


def test_admin_opens_the_dashboard_and_reads_a_requests_attempts(caller, gateway, page):
    row = _send(caller.client, LLAMA, extra_body={"models": [QWEN], "sim": {"faults": {LLAMA: "502"}}})
    _send(caller.client, QWEN)
    admin = make_user(admin=True)
    log_in(page, gateway.url, admin.email)

    page.goto(f"{gateway.url}/console/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_test_id("total-requests")).to_have_text("2")
    expect(page.get_by_role("img", name="Requests per day")).to_be_visible()
    expect(page.get_by_role("link", name=caller.user.email)).to_be_visible()
    screenshot(page, "console-dashboard")

    page.get_by_role("link", name="Logs", exact=True).click()
    expect(page.get_by_role("heading", name="Request logs")).to_be_visible()
    page.locator(f'a[href="/console/logs/{row.id}/"]').click()
    expect(page.get_by_role("heading", name=f"Request {row.request_id}")).to_be_visible()
    attempts = page.get_by_test_id("attempts").locator("tbody tr")
    expect(attempts).to_have_count(3)
    expect(attempts.nth(0)).to_contain_text(LLAMA)
    expect(attempts.nth(0)).to_contain_text("502")
    expect(attempts.nth(2)).to_contain_text(QWEN)
    body = page.content()
    assert all(key not in body for key in POOL_KEYS) and caller.secret not in body
    screenshot(page, "console-log-detail")


def test_admin_filters_the_logs_by_model_without_a_reload(caller, gateway, page):
    llama = _send(caller.client, LLAMA)
    qwen = _send(caller.client, QWEN)
    admin = make_user(admin=True)
    log_in(page, gateway.url, admin.email)
    page.goto(f"{gateway.url}/console/logs/")
    table = page.locator("#log-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    page.evaluate("window.__sameDocument = true")

    page.get_by_label("Model").fill(QWEN)
    page.get_by_role("button", name="Filter").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator(f'a[href="/console/logs/{qwen.id}/"]')).to_be_visible()
    expect(table.locator(f'a[href="/console/logs/{llama.id}/"]')).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True  # htmx swapped the table; the page stayed
    assert "model=qwen" in page.url  # and the address keeps the filter
    expect(page.get_by_test_id("export")).to_have_attribute("href", "/api/admin/chat-logs/export?model=qwen%2Fqwen3-coder%3Afree")
    screenshot(page, "console-logs-filtered")


def test_a_non_admin_in_the_browser_never_sees_the_console(gateway, page):
    user = make_user()
    log_in(page, gateway.url, user.email)
    response = page.goto(f"{gateway.url}/console/logs/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Request logs")).to_have_count(0)
