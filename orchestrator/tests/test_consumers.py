"""POST /api/orchestrate/stream over real HTTP: fan-out, failures, auth, validation, disconnects."""

from __future__ import annotations

import httpx
import pytest

from chat.models import RequestLog
from testing.servers import wait_until
from testing.sse import open_then_leave, post_sse

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
MISTRAL = "mistralai/mistral-small-3.2-24b-instruct:free"
QWEN = "qwen/qwen3-coder:free"


def fan_out(gateway, headers: dict, body: dict) -> tuple[httpx.Response, list]:
    return post_sse(f"{gateway.url}/api/orchestrate/stream", headers, body)


def test_orchestrator_streams_each_models_answer_then_all_done(gateway, user, bearer, sim):
    sim.configure(model_faults={QWEN: "429_provider:30", MISTRAL: "slow:300"})

    response, events = fan_out(gateway, bearer(user), {"prompt": "Name a prime.", "models": [MISTRAL, LLAMA, QWEN]})

    assert response.status_code == 200
    assert [n for n, _ in events] == ["model_response"] * 3 + ["all_done"]
    answers = {d["modelId"]: d for n, d in events if n == "model_response"}
    assert set(answers) == {LLAMA, MISTRAL, QWEN}
    assert events[-2][1]["modelId"] == MISTRAL  # the slow one arrives last
    ok = answers[LLAMA]
    assert ok["status"] == "success" and "Name a prime." in ok["content"] and "error" not in ok
    assert ok["name"] == "Meta: Llama 3.3 70B Instruct (free)"
    assert ok["usage"]["totalTokens"] == ok["usage"]["promptTokens"] + ok["usage"]["completionTokens"] > 0
    assert answers[MISTRAL]["latencyMs"] >= 300
    failed = answers[QWEN]
    assert failed["status"] == "error" and failed["httpStatus"] == 429 and "rate limited" in failed["error"].lower()
    assert failed["content"] == ""
    done = events[-1][1]
    assert done["successCount"] == 2 and done["totalModels"] == 3 and done["totalMs"] >= 300
    rows = wait_until(lambda: (r := list(RequestLog.objects.filter(source="orchestrator", user=user))) and len(r) == 3
                      and r)
    assert {(r.model_requested, r.status) for r in rows} == {(LLAMA, 200), (MISTRAL, 200), (QWEN, 429)}


def test_orchestrator_asks_three_of_the_callers_models_when_none_are_named(gateway, user, bearer):
    response, events = fan_out(gateway, bearer(user), {"prompt": "hi"})

    assert response.status_code == 200
    assert len([n for n, _ in events if n == "model_response"]) == 3
    assert events[-1] == ("all_done", {**events[-1][1], "successCount": 3, "totalModels": 3})


def test_orchestrator_refuses_anonymous_callers(gateway, user):
    response, events = fan_out(gateway, {}, {"prompt": "hi"})

    assert response.status_code == 401
    assert set(response.json()) == {"message", "extra"}
    assert events == []


@pytest.mark.parametrize(
    "body, words",
    [
        ({}, "prompt"),
        ({"prompt": "hi", "models": "llama"}, "models"),
        ({"prompt": "hi", "models": [LLAMA] * 7}, "models"),
        ({"prompt": "hi", "models": [LLAMA, "no/such-model"]}, "no/such-model"),
    ],
)
def test_orchestrator_rejects_bad_input_with_400(gateway, user, bearer, body, words):
    response, events = fan_out(gateway, bearer(user), body)

    assert response.status_code == 400
    assert words in response.json()["message"]
    assert events == []


def test_a_client_that_goes_away_cancels_the_pending_calls(gateway, user, bearer, sim):
    sim.configure(model_faults={LLAMA: "slow:10000"})

    state = open_then_leave(f"{gateway.url}/api/orchestrate/stream", bearer(user),
                            {"prompt": "hi", "models": [LLAMA]}, sim)
    assert state["in_flight"] == 0 and state["served"] == 0
    row = wait_until(lambda: RequestLog.objects.filter(source="orchestrator", user=user).first())
    assert row.model_requested == LLAMA and row.status != 200
