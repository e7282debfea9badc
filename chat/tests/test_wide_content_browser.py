"""A long code line scrolls inside its block: no page scrolls sideways at 1366 or 390 px, and no console error."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from chat.models import Message
from chat.playground.services import conversation_create
from testing.browser import log_in, screenshot
from testing.factories import make_user, sync_catalog
from testing.pages import sideways_overflow, watch_console

MODEL = "meta-llama/llama-3.3-70b-instruct:free"
LONG_LINE = "result = compute(" + ", ".join(f"argument_{i}" for i in range(120)) + ")"
WIDE = f"Here is the code:\n\n```python\n{LONG_LINE}\n```\n\n| a | b |\n|---|---|\n| {'x' * 300} | y |\n\n{'z' * 400}"


@pytest.fixture
def person(gateway):
    sync_catalog()
    return make_user()


def _page(new_page, gateway, user, width: int):
    page = new_page()
    page.set_viewport_size({"width": width, "height": 900})
    errors = watch_console(page)
    log_in(page, gateway.url, user.email)
    return page, errors


@pytest.mark.parametrize("width", [1366, 390])
def test_the_playground_keeps_a_long_code_line_inside_its_block(gateway, person, new_page, width):
    conversation = conversation_create(user_id=person.id, model=MODEL)
    Message.objects.create(conversation=conversation, role="user", content="Show me " + "w" * 300)
    Message.objects.create(conversation=conversation, role="assistant", content=WIDE)
    page, errors = _page(new_page, gateway, person, width)
    page.goto(f"/playground/{conversation.id}/")
    block = page.locator(".message.assistant .code-block pre").first
    expect(block.locator("code.language-python")).to_have_text(LONG_LINE)
    assert block.evaluate("pre => pre.scrollWidth > pre.clientWidth")  # it scrolls, inside its block
    assert sideways_overflow(page) == 0
    screenshot(page, f"playground-wide-{width}")
    assert errors == [] and page.problems == []


@pytest.mark.parametrize("width", [1366, 390])
def test_the_agent_page_keeps_a_long_code_line_inside_its_block(gateway, person, new_page, width):
    page, errors = _page(new_page, gateway, person, width)
    page.goto("/agent/")
    turns = [{"role": "user", "content": "code?"}, {"role": "assistant", "content": WIDE, "toolSteps": [
        {"name": "list_models", "arguments": {"free_only": True}, "result": "q" * 300}]}]
    page.evaluate("(turns) => sessionStorage.setItem('agent-history', turns)", json.dumps(turns))
    page.reload()
    page.locator("details.tool-steps summary").click()
    block = page.locator(".message.assistant .code-block pre")
    expect(block).to_be_visible()
    assert block.evaluate("pre => pre.scrollWidth > pre.clientWidth")
    assert sideways_overflow(page) == 0
    # and a live answer (one very long word from the tool's JSON) wraps as well
    page.get_by_role("textbox", name="Question").fill("Which models can I use?")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator(".message.assistant")).to_have_count(2)
    expect(page.locator(".message.assistant").last.locator(".answer-actions")).to_be_visible()
    assert sideways_overflow(page) == 0
    screenshot(page, f"agent-wide-{width}")
    assert errors == [] and page.problems == []


@pytest.mark.parametrize("width", [1366, 390])
def test_the_orchestrator_page_keeps_long_answers_inside_their_cards(gateway, person, new_page, width):
    page, errors = _page(new_page, gateway, person, width)
    page.goto("/orchestrator/")
    page.get_by_label("Prompt").fill("Echo " + "v" * 500)
    page.get_by_role("button", name="Ask the models").click()
    expect(page.locator("#orchestrator-count")).to_contain_text("3 of 3 succeeded")
    page.evaluate("(text) => window.Markdown.renderInto(document.querySelector('.model-card .md'), text)", WIDE)
    block = page.locator(".model-card .code-block pre").first
    assert block.evaluate("pre => pre.scrollWidth > pre.clientWidth")
    assert sideways_overflow(page) == 0
    page.get_by_role("button", name="Synthesize").click()
    expect(page.locator("#synthesis-card .pill")).to_have_text("success")
    assert sideways_overflow(page) == 0
    screenshot(page, f"orchestrator-wide-{width}")
    assert errors == [] and page.problems == []
