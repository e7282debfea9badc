"""The playground in headless Chromium: streaming answers, safe Markdown, errors that say what to do."""

from __future__ import annotations

from contextlib import closing

from playwright.sync_api import expect

from chat.models import Conversation, Message
from testing.browser import csrf_form, screenshot, session_client
from testing.factories import make_user, sync_catalog

MODEL = "meta-llama/llama-3.3-70b-instruct:free"
HOSTILE = "<img src=x onerror=alert(1)><script>alert(1)</script>"


def _start_conversation(page, first: str = "Hello there", *, model: str = MODEL, system_prompt: str = "") -> None:
    """Open the playground, pick ``model`` and send ``first``: the first message starts the conversation."""
    page.goto("/playground/")
    page.get_by_label("Model").select_option(model)
    if system_prompt:
        page.get_by_text("System prompt and temperature").click()
        page.get_by_label("System prompt").fill(system_prompt)
    page.get_by_role("textbox", name="Message").fill(first)
    page.get_by_role("textbox", name="Message").press("Enter")
    page.wait_for_url("**/playground/*/")
    expect(page.locator("#stream-status")).to_have_text("Answer complete.")


def test_a_message_streams_in_gets_a_title_and_survives_a_reload(gateway, logged_in_page):
    sync_catalog(MODEL)
    page, user = logged_in_page()
    page.goto("/playground/")
    expect(page.get_by_role("textbox", name="Message")).to_be_visible()  # the message box first, no form to fill
    screenshot(page, "playground-new")
    _start_conversation(page, "Plan a **picnic** with `sandwiches`", system_prompt="Answer in Markdown.")
    answer = page.locator(".message.assistant").last
    expect(answer).to_contain_text(f"Hello from {MODEL}. You said: Plan a picnic with sandwiches")
    expect(answer.locator("strong")).to_have_text("picnic")
    expect(answer.locator("code")).to_have_text("sandwiches")
    expect(page.locator("#conversation-title")).to_have_text("Plan a picnic with sandwiches")  # plain text
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    screenshot(page, "playground-conversation")
    conversation = Conversation.objects.get(user=user)
    assert conversation.system_prompt == "Answer in Markdown."
    assert conversation.title == "Plan a picnic with sandwiches"
    assert list(conversation.messages.values_list("role", flat=True)) == ["user", "assistant"]
    page.reload()
    expect(page.locator(".message.assistant strong")).to_have_text("picnic")
    assert page.problems == []


def test_a_hostile_answer_renders_as_text_and_runs_no_script(gateway, logged_in_page):
    sync_catalog(MODEL)
    page, _ = logged_in_page()
    page.goto("/playground/")
    page.evaluate("() => { window.__xss = 0; window.alert = () => { window.__xss += 1; }; }")
    page.get_by_role("textbox", name="Message").fill(HOSTILE)
    page.get_by_role("button", name="Send").click()
    answer = page.locator(".message.assistant").last
    expect(answer).to_contain_text("You said: <img src=x onerror=alert(1)><script>alert(1)</script>")
    expect(page.locator("#stream-status")).to_have_text("Answer complete.")
    thread = page.locator("#messages")
    assert thread.locator("img").count() == 0
    assert thread.locator("script").count() == 0
    assert thread.locator("[onerror]").count() == 0
    assert page.evaluate("window.__xss") == 0
    page.reload()  # stored answers are rendered by the same safe renderer
    expect(page.locator(".message.assistant").last).to_contain_text("<script>alert(1)</script>")
    assert page.locator("#messages img, #messages script, #messages [onerror]").count() == 0
    assert page.problems == []
    screenshot(page, "playground-hostile-answer")


def test_a_refused_message_says_what_to_do_and_keeps_the_draft(gateway, logged_in_page):
    from gateway_project import invalidation
    from models_catalog.models import CatalogModel

    sync_catalog(MODEL)
    page, user = logged_in_page()
    _start_conversation(page)
    CatalogModel.objects.filter(model_id=MODEL).update(enabled=False)
    invalidation.announce(invalidation.CATALOG)
    page.get_by_role("textbox", name="Message").fill("Are you there?")
    page.get_by_role("button", name="Send").click()
    alert = page.locator("#composer-error")
    expect(alert).to_have_text("This model is no longer available. Start a new conversation with another model.")
    expect(page.get_by_role("textbox", name="Message")).to_have_value("Are you there?")
    assert page.locator(".message").count() == 2  # the first turn stays; the refused one left no trace
    assert Message.objects.filter(conversation__user=user).count() == 2
    screenshot(page, "playground-error")


def test_a_conversation_can_be_deleted(gateway, logged_in_page):
    sync_catalog(MODEL)
    page, user = logged_in_page()
    _start_conversation(page)
    page.get_by_role("button", name="Delete").click()  # the confirm() dialog is accepted by the fixture
    page.wait_for_url("**/playground/")
    expect(page.get_by_role("status").first).to_have_text("Conversation deleted.")
    assert not Conversation.objects.filter(user=user).exists()


def test_a_system_prompt_longer_than_the_api_allows_is_refused_on_the_page(gateway):
    sync_catalog(MODEL)
    user = make_user()
    with closing(session_client(gateway.url, user)) as client:
        r = client.post("/playground/new/", data=csrf_form(client, model=MODEL, system_prompt="s" * 100_000))
        assert r.status_code == 400
        assert "systemPrompt is longer than 8000 characters." in r.text
    assert not Conversation.objects.filter(user=user).exists()
