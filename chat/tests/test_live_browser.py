"""The Live page and the log detail's timeline in headless Chromium (under the site's Content-Security-Policy)."""

from __future__ import annotations

from playwright.sync_api import expect

from chat.models import RequestLog
from chat.proxy import trace_live
from chat.tests.conftest import LLAMA, QWEN
from testing.browser import log_in, screenshot
from testing.env import POOL_KEYS
from testing.factories import make_key, make_user, openai_client
from testing.servers import wait_until

USER = [{"role": "user", "content": "hello live"}]


def _watch_console(page) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if m.type in ("error", "warning") else None)
    return messages


def test_an_admin_watches_a_fallback_arrive_live_then_reads_its_timeline(caller, gateway, page):
    admin = make_user(admin=True)
    console = _watch_console(page)
    log_in(page, gateway.url, admin.email)
    page.goto(f"{gateway.url}/console/")
    page.get_by_role("link", name="Live", exact=True).click()
    expect(page.get_by_role("heading", name="Live requests")).to_be_visible()
    wait_until(trace_live.hub().ready, timeout=30)  # the page's EventSource is subscribed

    raw = caller.client.chat.completions.with_raw_response.create(
        model=LLAMA, messages=USER, extra_body={"models": [QWEN], "sim": {"faults": {LLAMA: "502"}}})
    request_id = raw.headers["x-request-id"]
    row = page.locator(f"#live-{request_id}")
    expect(row.get_by_test_id("live-status")).to_have_text("200", timeout=20_000)
    expect(row.get_by_test_id("live-step")).to_have_text("done")
    expect(row).to_contain_text("3 (2 failed)")
    expect(row).to_contain_text(QWEN)
    expect(page.locator("#live-rows tr")).to_have_count(1)  # updated in place, not appended
    screenshot(page, "console-live")

    second = caller.client.chat.completions.with_raw_response.create(model=QWEN, messages=USER)
    expect(page.locator(f"#live-{second.headers['x-request-id']}").get_by_test_id("live-status")).to_have_text("200")
    expect(page.locator("#live-rows tr").first).to_have_id(f"live-{second.headers['x-request-id']}")
    assert all(key not in page.content() for key in POOL_KEYS) and caller.secret not in page.content()

    log = wait_until(lambda: RequestLog.objects.filter(request_id=request_id).first(), timeout=10)
    page.goto(f"{gateway.url}/console/logs/{log.id}/")
    steps = page.get_by_test_id("timeline").locator("li")
    expect(steps.first).to_have_attribute("data-type", "accepted")
    expect(steps.last).to_have_attribute("data-type", "done")
    attempts = page.get_by_test_id("timeline").locator('li[data-type="attempt"]')
    expect(attempts).to_have_count(3)
    expect(attempts.nth(0)).to_contain_text(f"{LLAMA} on")
    expect(attempts.nth(0)).to_contain_text("502")
    expect(attempts.nth(0)).to_contain_text("failed")
    expect(attempts.nth(2)).to_contain_text(f"{QWEN} on")
    expect(attempts.nth(2)).to_contain_text("served")
    screenshot(page, "console-log-timeline")
    assert page.problems == []
    assert not [m for m in console if "Content Security Policy" in m or "Content-Security-Policy" in m], console


def test_a_user_watches_only_their_own_requests_under_usage(caller, gateway, page):
    log_in(page, gateway.url, caller.user.email)
    page.goto(f"{gateway.url}/usage/")
    page.get_by_role("link", name="Watch your requests live").click()
    expect(page.get_by_role("heading", name="Your requests, live")).to_be_visible()
    wait_until(trace_live.hub().ready, timeout=30)

    stranger = openai_client(gateway.url, make_key(make_user()))
    theirs = stranger.chat.completions.with_raw_response.create(model=LLAMA, messages=USER)
    mine = caller.client.chat.completions.with_raw_response.create(model=LLAMA, messages=USER)
    expect(page.locator(f"#live-{mine.headers['x-request-id']}").get_by_test_id("live-status")).to_have_text("200")
    expect(page.locator(f"#live-{theirs.headers['x-request-id']}")).to_have_count(0)
    expect(page.locator("#live-rows tr")).to_have_count(1)
    assert page.problems == []
