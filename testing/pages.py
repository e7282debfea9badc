"""Checks every page test makes: nothing scrolls sideways, and the console shows no error."""

from __future__ import annotations


def watch_console(page) -> list[str]:
    """Collect the page's console errors (CSP refusals, failed loads, script errors) into the returned list."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def sideways_overflow(page) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when nothing scrolls sideways)."""
    return page.evaluate("() => Math.max(0, document.documentElement.scrollWidth - document.documentElement.clientWidth)")
