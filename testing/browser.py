"""Page test helpers (a pytest plugin: ``pytest_plugins = ["testing.browser"]``).

Headless Chromium: Debian's ``/usr/bin/chromium`` driven by Playwright's Python
package (its own browser download is not used). Fixtures: ``browser`` (one per
session), ``new_page`` (a factory of fresh contexts, one per person in a
journey), ``page`` (the first of them), ``logged_in_page`` (a factory that logs
a user in through the real login form). ``screenshot(page, name)`` saves
``artifacts/screenshots/<name>.png``.

Plain HTTP: ``session_client`` (logged in through the same form) and the
``admin_http`` fixture (one for a new admin), ``csrf_form``, ``csrf_header`` and
``jwt_headers``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from testing.factories import PASSWORD, make_user

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as ``artifacts/screenshots/<name>.png`` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Log in through the login form and wait for the page it leads to."""
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


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


def csrf_header(client: httpx.Client) -> dict[str, str]:
    """The ``X-CSRFToken`` header our pages' scripts send, for ``client``'s session."""
    return {"X-CSRFToken": client.cookies["csrftoken"]}


def csrf_form(client: httpx.Client, **fields) -> dict:
    """Form fields plus the CSRF token the page's forms carry."""
    return {"csrfmiddlewaretoken": client.cookies["csrftoken"], **fields}


@pytest.fixture
def admin_http(gateway) -> Iterator[httpx.Client]:
    """A ``session_client`` logged in as a new admin, who is ``admin_http.user``."""
    admin = make_user(admin=True)
    with closing(session_client(gateway.url, admin)) as client:
        client.user = admin
        yield client


@pytest.fixture
def browser():
    """Headless Chromium for one test.

    Playwright's sync API runs an event loop on the test thread while it is open, so
    Django's async-context guard is lifted for that test only (the test's own ORM calls
    are ordinary synchronous code), and the loop is gone before the next test: a
    session-wide browser would leave it behind for every later test.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser, gateway) -> Iterator[Callable]:
    """Return ``new_page()``: a page in a fresh browser context (its own cookies), closed after the test.

    Each page fails its test's ``page.problems == []`` check on any JS dialog or page error.
    """
    contexts = []

    def open_page():
        context = browser.new_context(base_url=gateway.url, viewport={"width": 1280, "height": 860})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.problems = []  # dialogs (alert, confirm) and uncaught script errors seen by the page
        page.on("pageerror", lambda error: page.problems.append(f"pageerror: {error}"))

        def on_dialog(dialog) -> None:
            page.problems.append(f"dialog: {dialog.message}")
            dialog.accept()

        page.on("dialog", on_dialog)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A page in a fresh browser context (no cookies)."""
    return new_page()


@pytest.fixture
def logged_in_page(page, gateway) -> Callable:
    """Return ``login(user=None, admin=False) -> (page, user)``: a page logged in as a new or given user."""

    def login(user=None, *, admin: bool = False):
        user = user or make_user(admin=admin)
        log_in(page, gateway.url, user.email)
        return page, user

    return login
