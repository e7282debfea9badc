"""POST /api/agent/chat over real HTTP: the ReAct loop, model fallback, auth and validation."""

from __future__ import annotations

from contextlib import closing

import httpx
import pytest

from chat.models import RequestLog
from testing.browser import csrf_header, session_client
from testing.servers import wait_until
from testing.sse import post_sse

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
MISTRAL = "mistralai/mistral-small-3.2-24b-instruct:free"
GEMMA = "google/gemma-3-27b-it:free"  # no tool support


def ask(gateway, headers: dict, body: dict) -> tuple[httpx.Response, list]:
    """POST to the agent and read the whole event stream."""
    return post_sse(f"{gateway.url}/api/agent/chat", headers, body)


def agent_rows(**filters) -> list[RequestLog]:
    return list(RequestLog.objects.filter(source="agent", **filters).order_by("created_at", "id"))


def test_agent_calls_a_tool_then_answers_with_its_result(gateway, user, bearer):
    response, events = ask(gateway, bearer(user), {"question": "Which models can I use?", "model": LLAMA})

    assert response.status_code == 200
    names = [name for name, _ in events]
    assert names == ["status", "tool_step", "done"]
    assert events[0][1] == {"type": "trying", "model": LLAMA, "attempt": 1, "total": 4}
    done = events[-1][1]
    assert done["modelUsed"] == LLAMA
    assert "the tool said" in done["reply"] and MISTRAL in done["reply"]
    [step] = done["toolSteps"]
    assert step["name"] == "list_models"
    assert isinstance(step["arguments"], dict)
    assert LLAMA in step["result"]
    rows = wait_until(lambda: len(agent_rows(user=user)) == 2 and agent_rows(user=user))
    assert [r.status for r in rows] == [200, 200]
    assert {r.model_used for r in rows} == {LLAMA}


def test_agent_skips_a_failing_model_and_answers_with_the_next(gateway, user, bearer, sim):
    sim.configure(model_faults={LLAMA: "429_provider:30"})

    response, events = ask(gateway, bearer(user), {"question": "How much have I used?", "model": LLAMA})

    assert response.status_code == 200
    statuses = [data for name, data in events if name == "status"]
    assert statuses[0] == {"type": "trying", "model": LLAMA, "attempt": 1, "total": 4}
    assert statuses[1]["type"] == "skipped" and statuses[1]["model"] == LLAMA
    assert "rate limited" in statuses[1]["reason"].lower()
    assert statuses[2]["type"] == "trying" and statuses[2]["attempt"] == 2 and statuses[2]["model"] != LLAMA
    name, done = events[-1]
    assert name == "done"
    assert done["modelUsed"] == statuses[2]["model"]
    assert done["reply"]
    wait_until(lambda: any(r.status == 429 for r in agent_rows(user=user, model_requested=LLAMA)))
    wait_until(lambda: any(r.status == 200 for r in agent_rows(user=user, model_used=done["modelUsed"])))


def test_agent_reports_an_error_when_every_model_fails(gateway, user, bearer, sim):
    sim.configure(model_faults={"*": "429_provider:30"})

    response, events = ask(gateway, bearer(user), {"question": "hello"})

    assert response.status_code == 200
    assert [d["type"] for n, d in events if n == "status"] == ["trying", "skipped"] * 4
    name, error = events[-1]
    assert name == "error"
    assert error["status"] == 429 and error["message"]


def test_agent_skips_a_requested_model_without_tool_support(gateway, user, bearer):
    response, events = ask(gateway, bearer(user), {"question": "hi", "model": GEMMA})

    assert response.status_code == 200
    assert events[0] == ("status", {"type": "skipped", "model": GEMMA, "reason": "does not support tool calling"})
    assert events[1][1]["type"] == "trying" and events[1][1]["model"] != GEMMA
    assert events[-1][0] == "done"


def test_agent_keeps_the_history_it_is_given(gateway, user, bearer, sim):
    history = [{"role": "user", "content": "I am Ada."}, {"role": "assistant", "content": "Hello Ada."}]

    response, events = ask(gateway, bearer(user), {"question": "Who am I?", "model": LLAMA, "history": history})

    assert events[-1][0] == "done"
    first = sim.requests()[0]["body"]["messages"]
    assert [m["role"] for m in first] == ["system", "user", "assistant", "user"]
    assert first[1]["content"] == "I am Ada." and first[3]["content"] == "Who am I?"


def test_agent_refuses_anonymous_callers_before_any_event(gateway, user):
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}):
        response, events = ask(gateway, headers, {"question": "hello"})

        assert response.status_code == 401
        assert response.json()["message"] and response.json()["extra"] == {}
        assert events == []
    assert not agent_rows()


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "question"),
        ({"question": ""}, "question"),
        ({"question": "hi", "model": "no/such-model"}, "no/such-model"),
        ({"question": "hi", "history": [{"role": "system", "content": "x"}]}, "history"),
        ({"question": "hi", "history": [{"role": "user", "content": "x"}] * 21}, "history"),
    ],
)
def test_agent_rejects_bad_input_with_400(gateway, user, bearer, body, field):
    response, events = ask(gateway, bearer(user), body)

    assert response.status_code == 400
    assert field in response.json()["message"]
    assert events == []


def test_agent_rejects_a_body_that_is_not_json(gateway, user, bearer):
    with httpx.Client(timeout=30) as client:
        response = client.post(f"{gateway.url}/api/agent/chat", content=b"{nope", headers=bearer(user))

    assert response.status_code == 400
    assert response.json() == {"message": "The body must be JSON.", "extra": {}}


def test_agent_accepts_the_session_of_our_own_pages_only(gateway, user):
    with closing(session_client(gateway.url, user)) as browser:
        cookies = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
        session = {"Cookie": cookies, **csrf_header(browser)}
    host = gateway.url.removeprefix("http://")

    same, events = ask(gateway, {**session, "Origin": f"http://{host}"}, {"question": "hi", "model": LLAMA})
    foreign, _ = ask(gateway, {**session, "Origin": "https://evil.example"}, {"question": "hi", "model": LLAMA})
    tokenless, _ = ask(gateway, {"Cookie": session["Cookie"], "Origin": f"http://{host}"},
                       {"question": "hi", "model": LLAMA})

    assert same.status_code == 200 and events[-1][0] == "done"
    assert foreign.status_code == 403
    assert tokenless.status_code == 403


def test_agent_skips_a_model_that_live_health_says_is_rate_limited(gateway, user, bearer, http):
    from testing.factories import make_key, openai_client

    client = openai_client(gateway.url, make_key(user))
    # Traffic teaches the gateway that LLAMA is rate limited upstream for the next 30 s.
    client.chat.completions.create(model=LLAMA, messages=[{"role": "user", "content": "hi"}],
                                   extra_body={"models": [MISTRAL], "sim": {"faults": {LLAMA: "429_provider:30"}}})
    response, events = ask(gateway, bearer(user), {"question": "Which models can I use?", "model": LLAMA})
    assert response.status_code == 200
    skipped = events[0][1]
    assert skipped["type"] == "skipped" and skipped["model"] == LLAMA
    assert skipped["reason"].startswith("rate limited upstream until")
    assert events[1][1]["type"] == "trying" and events[1][1]["model"] != LLAMA
    assert events[-1][0] == "done" and events[-1][1]["modelUsed"] != LLAMA
