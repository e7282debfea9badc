"""Admin console test helpers: JWT headers, a logged-in HTTP session, and a headless Chromium page.

Browser tests wrap ``browser_pages()`` in a fixture of their module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from testing.factories import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


def jwt_headers(user) -> dict[str, str]:
    """``Authorization: Bearer <access token>`` for ``user``."""
    from rest_framework_simplejwt.tokens import RefreshToken

    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


def session_client(base_url: str, user, password: str = PASSWORD) -> httpx.Client:
    """An HTTP client logged in to the pages as ``user`` through the real login form."""
    client = httpx.Client(base_url=base_url, timeout=30)
    client.get("/login/").raise_for_status()
    r = client.post("/login/", data={"email": user.email, "password": password,
                                     "csrfmiddlewaretoken": client.cookies["csrftoken"]})
    assert r.status_code == 302, r.text
    return client


def csrf_form(client: httpx.Client, **fields) -> dict:
    """Form fields plus the CSRF token the page's forms carry."""
    return {"csrfmiddlewaretoken": client.cookies["csrftoken"], **fields}


@contextmanager
def browser_pages() -> Iterator[Callable[[], Page]]:
    """Yield a function that launches Chromium and returns a fresh page; everything closes on exit.

    Playwright's sync API leaves an event loop marked running in its thread, and
    Django then refuses ORM calls there; so a test builds its data first and
    opens the browser last, and the browser lives for one test only. Use it from
    a fixture: ``with browser_pages() as open_page: yield open_page``.
    """
    from playwright.sync_api import sync_playwright

    started: list = []

    def open_page() -> Page:
        playwright = sync_playwright().start()
        started.append(playwright)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        started.append(browser)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(10_000)
        return page

    try:
        yield open_page
    finally:
        if len(started) > 1:
            started[1].close()  # the browser
        if started:
            started[0].stop()  # playwright, which also ends its event loop


def login_in_browser(page, base_url: str, user, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
