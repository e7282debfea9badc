"""The agent page in headless Chromium: status lines, tool steps, a Markdown answer, history, errors in place."""

from __future__ import annotations

from playwright.sync_api import expect

from testing.browser import screenshot

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"


def _ask(page, question: str) -> None:
    page.get_by_role("textbox", name="Question").fill(question)
    page.get_by_role("button", name="Ask").click()


def test_the_agent_page_shows_status_lines_tool_steps_and_an_answer_built_on_the_tool(gateway, user, new_page,
                                                                                        sim):
    from testing.browser import log_in

    page = new_page()
    log_in(page, gateway.url, user.email)
    page.get_by_role("link", name="Agent").click()
    page.wait_for_url("**/agent/")
    _ask(page, "Which models can I use?")

    answer = page.locator(".message.assistant").last
    expect(answer.locator(".answer-actions button", has_text="Copy")).to_be_visible()
    expect(answer.locator(".status-lines li").first).to_contain_text("Trying ")
    expect(answer.locator(".status-lines li.tool")).to_have_text("Looked up list_models")
    expect(answer.locator("[data-answer]")).to_contain_text("the tool said")
    expect(answer.locator("[data-answer]")).to_contain_text(LLAMA)  # the tool's result, in the answer
    steps = answer.locator("details.tool-steps")
    expect(steps.locator("summary")).to_have_text("1 tool step")
    steps.locator("summary").click()
    expect(steps.locator("li strong")).to_have_text("list_models")
    expect(steps.locator("pre").last).to_contain_text(LLAMA)
    screenshot(page, "agent-answer")

    # A follow-up question carries the conversation so far; a reload keeps it for the session.
    _ask(page, "And which are free?")
    expect(page.locator(".message.assistant")).to_have_count(2)
    expect(page.locator(".message.assistant").last.locator(".answer-actions")).to_be_visible()
    last_call = sim.requests()[-2]["body"]["messages"]
    assert [m["role"] for m in last_call[:4]] == ["system", "user", "assistant", "user"]
    assert last_call[1]["content"] == "Which models can I use?" and last_call[3]["content"] == "And which are free?"
    page.reload()
    expect(page.locator(".message.user")).to_have_count(2)
    expect(page.locator(".message.assistant details.tool-steps")).to_have_count(2)
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".message")).to_have_count(0)
    assert page.problems == []


def test_the_agent_page_shows_every_skipped_model_and_the_error_in_place(gateway, user, new_page, sim):
    from testing.browser import log_in

    sim.configure(model_faults={"*": "429_provider:30"})
    page = new_page()
    log_in(page, gateway.url, user.email)
    page.goto("/agent/")
    _ask(page, "hello")

    answer = page.locator(".message.assistant").last
    expect(answer.locator(".alert")).to_contain_text("Every model failed")
    expect(answer.locator(".alert")).to_contain_text("(429)")
    expect(answer.locator(".status-lines li.skipped")).to_have_count(4)
    expect(answer.locator(".status-lines li.skipped").first).to_contain_text("rate limited")
    expect(page.get_by_role("button", name="Ask")).to_be_enabled()
    screenshot(page, "agent-error")
    assert page.problems == []
