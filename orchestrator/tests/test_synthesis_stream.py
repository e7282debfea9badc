"""POST /api/orchestrate/synthesize/stream over real HTTP: tokens, fallback before the first token, errors,
auth and validation, and a client that goes away cancelling the upstream call."""

from __future__ import annotations

import pytest

from chat.models import RequestLog
from testing.servers import wait_until
from testing.sse import open_then_leave, post_sse

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
MISTRAL = "mistralai/mistral-small-3.2-24b-instruct:free"
PATH = "/api/orchestrate/synthesize/stream"
RESPONSES = [{"modelId": LLAMA, "name": "Llama", "content": "Seven is prime."},
             {"modelId": MISTRAL, "name": "Mistral", "content": "Eleven is prime."}]


def synthesize(gateway, headers: dict, body: dict):
    return post_sse(gateway.url + PATH, headers, body)


def test_the_synthesis_streams_token_by_token_then_done(gateway, user, bearer, sim):
    response, events = synthesize(gateway, bearer(user), {"prompt": "Name a prime.", "responses": RESPONSES})

    assert response.status_code == 200
    names = [n for n, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"token"} and len(names) > 5
    text = "".join(d for n, d in events if n == "token")
    assert "Seven is prime." in text and "Eleven is prime." in text and text.startswith("Hello from ")
    assert events[-1][1] == {"modelId": LLAMA, "modelName": "Meta: Llama 3.3 70B Instruct (free)"}
    sent = sim.requests()[-1]["body"]
    assert sent["stream"] is True and sent["messages"][0]["role"] == "system"
    row = wait_until(lambda: RequestLog.objects.filter(source="orchestrator", user=user).first())
    assert row.status == 200 and row.stream is True and row.completion_tokens > 0


def test_the_synthesis_moves_on_when_a_model_fails_before_its_first_token(gateway, user, bearer, sim):
    sim.configure(model_faults={MISTRAL: "429_provider:30"})

    response, events = synthesize(gateway, bearer(user), {"prompt": "p", "responses": RESPONSES, "model": MISTRAL})

    assert response.status_code == 200
    assert events[-1][0] == "done" and events[-1][1]["modelId"] != MISTRAL
    assert any(n == "token" for n, _ in events)


def test_the_synthesis_ends_with_an_error_when_every_model_fails(gateway, user, bearer, sim):
    sim.configure(model_faults={"*": "429_provider:30"})

    response, events = synthesize(gateway, bearer(user), {"prompt": "p", "responses": RESPONSES})

    assert response.status_code == 200
    assert [n for n, _ in events] == ["error"]
    assert events[0][1]["status"] == 429 and events[0][1]["message"].startswith("The synthesis failed")


def test_the_synthesis_refuses_anonymous_callers(gateway, user):
    response, events = synthesize(gateway, {}, {"prompt": "p", "responses": RESPONSES})

    assert response.status_code == 401 and set(response.json()) == {"message", "extra"} and events == []


@pytest.mark.parametrize("body, words", [
    ({"prompt": "p"}, "responses"),
    ({"prompt": "p", "responses": []}, "responses"),
    ({"responses": RESPONSES}, "prompt"),
    ({"prompt": "p", "responses": RESPONSES, "model": "no/such-model"}, "no/such-model"),
    ({"prompt": "p", "responses": [{"content": "x"}] * 13}, "responses"),
])
def test_the_synthesis_rejects_bad_input_with_400_before_the_stream(gateway, user, bearer, body, words):
    response, events = synthesize(gateway, bearer(user), body)

    assert response.status_code == 400 and words in response.json()["message"] and events == []


def test_a_client_that_goes_away_cancels_the_synthesis_upstream(gateway, user, bearer, sim):
    sim.configure(model_faults={LLAMA: "slow:10000"})

    state = open_then_leave(gateway.url + PATH, bearer(user), {"prompt": "p", "responses": RESPONSES, "model": LLAMA},
                            sim)
    assert state["in_flight"] == 0 and state["served"] == 0
    row = wait_until(lambda: RequestLog.objects.filter(source="orchestrator", user=user).first())
    assert row.model_requested == LLAMA and row.status != 200


def test_a_failure_after_the_first_token_ends_the_synthesis_with_an_error(gateway, user, bearer, sim):
    sim.configure(model_faults={LLAMA: "midstream"})

    response, events = synthesize(gateway, bearer(user), {"prompt": "p", "responses": RESPONSES, "model": LLAMA})

    assert response.status_code == 200
    names = [n for n, _ in events]
    assert names[0] == "token" and names[-1] == "error" and "done" not in names
    assert events[-1][1]["message"].startswith("The synthesis failed") and events[-1][1]["status"] == 502
