"""The orchestrator page in headless Chromium: a card per model, a live count, a streamed synthesis, Cancel."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from testing.browser import log_in, screenshot
from testing.servers import wait_until

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
MISTRAL = "mistralai/mistral-small-3.2-24b-instruct:free"
QWEN = "qwen/qwen3-coder:free"


def _choose(page, *models: str) -> None:
    for box in page.locator("input[name=models]").all():
        box.set_checked(box.get_attribute("value") in models)


def test_the_orchestrator_fills_a_card_per_model_then_streams_a_synthesis(gateway, user, new_page, sim):
    sim.configure(model_faults={QWEN: "429_provider:30"})
    page = new_page()
    log_in(page, gateway.url, user.email)
    page.get_by_role("link", name="Orchestrator").click()
    page.wait_for_url("**/orchestrator/")
    assert page.locator("input[name=models]:checked").count() == 3  # the API's default subset, pre-checked
    _choose(page, LLAMA, MISTRAL, QWEN)
    page.get_by_label("Prompt").fill("Name a prime.")
    page.get_by_role("button", name="Ask the models").click()

    cards = page.locator(".model-card")
    expect(cards).to_have_count(3)
    expect(page.locator("#orchestrator-count")).to_have_text(
        re.compile(r"^2 of 3 succeeded in \d+ ms$"))
    ok = page.locator(f".model-card[data-model='{LLAMA}']")
    expect(ok.locator(".pill")).to_have_text("success")
    expect(ok.locator(".md")).to_contain_text("You said: Name a prime.")
    expect(ok.locator(".figures")).to_contain_text(re.compile(r"\d+ ms · \d+ in, \d+ out, \d+ tokens"))
    expect(ok.get_by_role("button", name="Copy")).to_be_enabled()
    failed = page.locator(f".model-card[data-model='{QWEN}']")
    expect(failed.locator(".pill")).to_have_text("error")
    expect(failed.locator(".alert")).to_contain_text("(429)")

    page.get_by_role("button", name="Synthesize").click()
    synthesis = page.locator("#synthesis-card")
    expect(synthesis.locator(".pill")).to_have_text("success")
    expect(synthesis.locator(".md")).to_contain_text("Question: Name a prime.", use_inner_text=True)
    expect(synthesis.locator(".figures")).to_contain_text("Written by ")
    expect(synthesis.get_by_role("button", name="Copy")).to_be_enabled()
    streamed = [r for r in sim.requests() if r["body"].get("stream")]
    assert len(streamed) == 1 and streamed[0]["body"]["messages"][0]["role"] == "system"
    screenshot(page, "orchestrator-synthesis")
    assert page.problems == []


def test_cancel_stops_the_upstream_calls(gateway, user, new_page, sim):
    sim.configure(model_faults={LLAMA: "slow:10000", MISTRAL: "slow:10000"})
    page = new_page()
    log_in(page, gateway.url, user.email)
    page.goto("/orchestrator/")
    _choose(page, LLAMA, MISTRAL)
    page.get_by_label("Prompt").fill("Take your time.")
    page.get_by_role("button", name="Ask the models").click()
    wait_until(lambda: sim.state()["in_flight"] == 2)
    page.get_by_role("button", name="Cancel").click()

    expect(page.locator("#orchestrator-count")).to_have_text("Cancelled: 0 of 2 answered")
    expect(page.locator(".model-card .pill")).to_have_text(["cancelled", "cancelled"])
    state = wait_until(lambda: (s := sim.state())["disconnects"] == 2 and s, timeout=10)
    assert state["in_flight"] == 0 and state["served"] == 0
    expect(page.get_by_role("button", name="Ask the models")).to_be_enabled()
    assert page.problems == []
