"""The playground's answers in headless Chromium (issue 15): readable model names with badges, a stopped answer
that stays marked after a reload with Retry, Copy on every answer and Regenerate on the last."""

from __future__ import annotations

from contextlib import closing

from playwright.sync_api import expect

from chat.models import Conversation, Message
from chat.playground.services import title_from
from models_catalog.models import CatalogModel
from testing.browser import csrf_form, screenshot, session_client
from testing.factories import make_user, sync_catalog
from testing.servers import wait_until

MODEL = "meta-llama/llama-3.3-70b-instruct:free"


def _send(page, text: str) -> None:
    page.get_by_role("textbox", name="Message").fill(text)
    page.get_by_role("textbox", name="Message").press("Enter")


def test_the_picker_shows_readable_names_and_badges_and_the_first_message_starts_it(gateway, logged_in_page):
    sync_catalog(MODEL)
    model = CatalogModel.objects.get(model_id=MODEL)
    page, user = logged_in_page()
    page.goto("/playground/")
    picker = page.get_by_label("Model")
    expect(picker.locator(f'option[value="{MODEL}"]')).to_have_text(model.name)  # a name, not the raw id
    badges = page.locator("#model-badges")
    expect(badges.locator('[data-badge="free"]')).to_have_text("free")
    expect(badges.locator('[data-badge="context"]')).to_contain_text("context")
    assert not page.get_by_role("button", name="Start conversation").count()
    screenshot(page, "playground-picker")

    _send(page, "first words")
    page.wait_for_url("**/playground/*/")
    expect(page.locator(".message.assistant")).to_contain_text("You said: first words")
    conversation = Conversation.objects.get(user=user)
    assert page.url.endswith(f"/playground/{conversation.id}/") and conversation.model == MODEL
    expect(page.locator(".chat-head .badge")).to_have_text(model.name)
    expect(page.locator("[data-conversation-link].current")).to_have_text("first words")
    assert page.problems == []


def test_a_stopped_answer_is_marked_after_a_reload_and_retry_replaces_it(gateway, sim, logged_in_page):
    sync_catalog(MODEL)
    page, user = logged_in_page()
    page.goto("/playground/")
    _send(page, "hello")
    page.wait_for_url("**/playground/*/")
    expect(page.locator("#stream-status")).to_have_text("Answer complete.")

    sim.configure(model_faults={MODEL: "chunk_delay:400"})
    _send(page, "tell me a long story about the sea")
    answer = page.locator(".message.assistant").last
    expect(answer.locator(".md")).not_to_be_empty()
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#stream-status")).to_have_text("Stopped.")
    expect(answer.get_by_test_id("finish-note")).to_have_text("Stopped: this answer is incomplete.")
    # the page says so at once; the server stores the cut-off answer when it sees the client leave
    stopped = wait_until(lambda: Message.objects.filter(conversation__user=user, role="assistant",
                                                        finish="stopped").last(), timeout=10)
    assert stopped.content

    page.reload()  # the mark and Retry survive a reload
    last = page.locator(".message.assistant").last
    expect(last.get_by_test_id("finish-note")).to_have_text("Stopped: this answer is incomplete.")
    expect(last.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.get_by_role("button", name="Retry")).to_have_count(1)  # only on the last answer
    screenshot(page, "playground-stopped-answer")

    sim.configure(model_faults={})
    last.get_by_role("button", name="Retry").click()
    expect(page.locator("#stream-status")).to_have_text("Answer complete.")
    expect(page.locator(".message.assistant")).to_have_count(2)
    expect(page.locator(".message.assistant").last).to_contain_text("You said: tell me a long story about the sea")
    expect(page.get_by_test_id("finish-note")).to_have_count(0)
    answers = list(Message.objects.filter(conversation__user=user, role="assistant").values_list("finish", flat=True))
    assert answers == ["", ""]  # the stopped answer was replaced, not kept beside the new one
    page.reload()
    expect(page.locator(".message.assistant")).to_have_count(2)
    expect(page.get_by_role("button", name="Regenerate")).to_have_count(1)
    assert page.problems == []


def test_every_answer_has_copy_and_the_last_regenerate(gateway, new_page):
    sync_catalog(MODEL)
    user = make_user()
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    from testing.browser import log_in

    log_in(page, gateway.url, user.email)
    page.goto("/playground/")
    _send(page, "one")
    page.wait_for_url("**/playground/*/")
    expect(page.locator("#stream-status")).to_have_text("Answer complete.")
    _send(page, "two")
    expect(page.locator(".message.assistant")).to_have_count(2)
    expect(page.locator("#stream-status")).to_have_text("Answer complete.")
    for answer in page.locator(".message.assistant").all():
        expect(answer.get_by_role("button", name="Copy")).to_be_visible()
    expect(page.get_by_role("button", name="Regenerate")).to_have_count(1)
    expect(page.locator(".message.assistant").last.get_by_role("button", name="Regenerate")).to_be_visible()

    page.locator(".message.assistant").first.get_by_role("button", name="Copy").click()
    expect(page.locator(".message.assistant").first.get_by_role("button", name="Copied")).to_be_visible()
    assert "You said: one" in page.evaluate("navigator.clipboard.readText()")

    before = list(Message.objects.filter(conversation__user=user).values_list("id", flat=True))
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator("#stream-status")).to_have_text("Answer complete.")
    expect(page.locator(".message")).to_have_count(4)
    after = list(Message.objects.filter(conversation__user=user).values_list("id", "role"))
    assert [role for _, role in after] == ["user", "assistant", "user", "assistant"]
    assert after[3][0] not in before  # a new last answer in place of the old one
    screenshot(page, "playground-copy-regenerate")
    assert page.problems == []


def test_titles_are_plain_text():
    assert title_from("Plan a **picnic** with `sandwiches`") == "Plan a picnic with sandwiches"
    assert title_from("# Heading\n- item [a link](https://x.example)") == "Heading item a link"
    assert title_from("**") == "**"  # nothing but marks: keep them rather than an empty title


def test_without_javascript_the_first_message_starts_the_conversation(gateway):
    sync_catalog(MODEL)
    user = make_user()
    with closing(session_client(gateway.url, user)) as client:
        r = client.post("/playground/new/", data=csrf_form(client, model=MODEL, content="no script here"))
        assert r.status_code == 302
    conversation = Conversation.objects.get(user=user)
    assert r.headers["location"] == f"/playground/{conversation.id}/"
    assert list(conversation.messages.values_list("role", flat=True)) == ["user", "assistant"]
    assert conversation.title == "no script here"
