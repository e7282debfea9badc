"""Every page in headless Chromium, as a user and as the admin, at 1366 and 390 px: nothing scrolls sideways
and no page logs a console error (issue 15). Also the top bar on a phone, the console's "you are here" and
the theme toggle's state at load."""

from __future__ import annotations

import pytest
from django.urls import Resolver404, resolve
from playwright.sync_api import expect

from chat.models import Conversation, Message
from testing.browser import log_in, screenshot
from testing.factories import make_key, make_user, openai_client, sync_catalog

MODEL = "meta-llama/llama-3.3-70b-instruct:free"
WIDTHS = (1366, 390)
USER_PAGES = ["/", "/playground/", "/playground/{conversation}/", "/settings/", "/settings/password/", "/usage/",
              "/device/"]
ADMIN_PAGES = ["/console/", "/console/logs/", "/console/logs/{log}/", "/console/models/", "/console/models/#presets",
               "/console/users/", "/console/upstream-keys/"]
LATER_PAGES = ["/agent/", "/orchestrator/"]  # pages another change adds: walked once they exist
LONG_LINE = "x" * 3000  # one long word in a stored answer must not widen the page


# The outermost elements reaching past the window whose parent does not: what widens the page.
WIDER_THAN_PARENT = """() => Array.from(document.querySelectorAll("body *")).filter(el => {
  const right = el.getBoundingClientRect().right, parent = el.parentElement.getBoundingClientRect().right;
  return right > innerWidth + 1 && parent <= innerWidth + 1;
}).slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
  (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : ""))"""


def _exists(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def _world(gateway) -> dict:
    sync_catalog(MODEL)
    user = make_user()
    openai_client(gateway.url, make_key(user)).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "a row for the logs"}])
    conversation = Conversation.objects.create(user=user, model=MODEL, title="A " + "very " * 30 + "long title")
    Message.objects.create(conversation=conversation, role="user", content="show me " + LONG_LINE)
    Message.objects.create(conversation=conversation, role="assistant",
                           content=f"```\n{LONG_LINE}\n```\n\n| a | b |\n|---|---|\n| {LONG_LINE[:400]} | 2 |\n\n{LONG_LINE}")
    from chat.logbuffer import log_buffer
    from chat.models import RequestLog
    from testing.servers import wait_until

    log_buffer().flush_from_thread()
    row = wait_until(lambda: RequestLog.objects.first())
    return {"user": user, "conversation": conversation.id, "log": row.id}


def _console_errors(page) -> list[str]:
    """Collect the page's console errors into the returned list (cleared per page by the caller)."""
    errors: list[str] = []

    def seen(message) -> None:
        url = message.location.get("url", "")
        # The favicon is another change's (issue 15, part A): until it lands its 404 is not this page's error.
        if message.type == "error" and "favicon.ico" not in url:
            errors.append(f"{message.text} ({url})")

    page.on("console", seen)
    return errors


def _walk(new_page, gateway, person, paths: list[str], world: dict, label: str) -> list[str]:
    problems = []
    for width in WIDTHS:
        page = new_page()
        page.set_viewport_size({"width": width, "height": 860})
        errors = _console_errors(page)
        log_in(page, gateway.url, person.email)
        for template in paths:
            path = template.format(**world)
            if not _exists(path.split("#")[0]):
                continue
            errors.clear()
            response = page.goto(path)
            if "#" not in path:  # a fragment after its own page is a same-document move (no response)
                assert response is not None and response.status == 200, f"{path}: {response and response.status}"
            page.wait_for_load_state("networkidle")
            fit = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if fit[0] > fit[1]:
                problems.append(f"{label} {width}px {path}: scrollWidth {fit[0]} > innerWidth {fit[1]}, "
                                f"widened by {page.evaluate(WIDER_THAN_PARENT)}")
            problems += [f"{label} {width}px {path}: console error {e}" for e in errors]
            problems += [f"{label} {width}px {path}: {p}" for p in page.problems]
            page.problems.clear()
            name = path.strip("/").replace("/", "-").replace("#", "-") or "home"
            screenshot(page, f"fit-{label}-{width}-{name}")
    return problems


def test_no_page_scrolls_sideways_or_logs_an_error_at_1366_and_390_px(gateway, new_page):
    world = _world(gateway)
    admin = make_user(admin=True)
    problems = _walk(new_page, gateway, world["user"], USER_PAGES + LATER_PAGES, world, "user")
    admin_world = dict(world)
    admin_conv = Conversation.objects.create(user=admin, model=MODEL, title="admin's")
    admin_world["conversation"] = admin_conv.id
    problems += _walk(new_page, gateway, admin, USER_PAGES + ADMIN_PAGES + LATER_PAGES, admin_world, "admin")
    assert problems == [], "\n".join(problems)


def test_on_a_phone_the_top_bar_is_one_row_and_the_menu_opens(gateway, new_page):
    admin = make_user(admin=True)
    page = new_page()
    page.set_viewport_size({"width": 390, "height": 800})
    log_in(page, gateway.url, admin.email)
    page.goto("/console/")
    bar = page.locator(".topbar")
    assert bar.bounding_box()["height"] < 70  # one row, not three
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Playground")).to_be_visible()
    screenshot(page, "phone-menu-open")
    nav.get_by_role("link", name="Settings").click()
    page.wait_for_url("**/settings/")
    assert page.problems == []


@pytest.mark.parametrize(("path", "current"), [
    ("/console/", "Dashboard"), ("/console/logs/", "Logs"), ("/console/models/", "Models"),
    ("/console/users/", "Users"), ("/console/upstream-keys/", "Upstream keys"),
])
def test_the_console_navigation_says_where_you_are(gateway, new_page, path, current):
    admin = make_user(admin=True)
    page = new_page()
    log_in(page, gateway.url, admin.email)
    page.goto(path)
    console = page.get_by_role("navigation", name="Admin")
    expect(console.locator('[aria-current="page"]')).to_have_count(1)
    expect(console.locator('[aria-current="page"]')).to_have_text(current)


@pytest.mark.parametrize(("scheme", "stored", "pressed"), [
    ("dark", None, "true"), ("light", None, "false"), ("light", "dark", "true"), ("dark", "light", "false"),
])
def test_the_theme_toggle_says_the_theme_at_load(gateway, browser, scheme, stored, pressed):
    context = browser.new_context(base_url=gateway.url, color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto("/login/")
        if stored:
            page.evaluate(f"localStorage.setItem('theme', '{stored}')")
            page.reload()
        toggle = page.get_by_role("button", name="Switch light or dark mode")
        expect(toggle).to_have_attribute("aria-pressed", pressed)
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "false" if pressed == "true" else "true")
    finally:
        context.close()
