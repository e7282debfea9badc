"""POST /api/orchestrate/synthesize: one answer from several."""

from __future__ import annotations

from chat.models import RequestLog
from testing.servers import wait_until

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
MISTRAL = "mistralai/mistral-small-3.2-24b-instruct:free"
URL = "/api/orchestrate/synthesize"
RESPONSES = [{"modelId": LLAMA, "name": "Llama", "content": "Seven is prime."},
             {"modelId": MISTRAL, "name": "Mistral", "content": "Eleven is prime."}]


def test_synthesis_writes_one_answer_from_the_responses(gateway, user, bearer, http, sim):
    response = http.post(gateway.url + URL, headers=bearer(user),
                         json={"prompt": "Name a prime.", "responses": RESPONSES})

    assert response.status_code == 200
    body = response.json()
    assert body["modelId"] == LLAMA and body["modelName"] == "Meta: Llama 3.3 70B Instruct (free)"
    assert "Seven is prime." in body["content"] and "Eleven is prime." in body["content"]
    sent = sim.requests()[-1]["body"]["messages"]
    assert sent[0]["role"] == "system" and "Name a prime." in sent[1]["content"]
    row = wait_until(lambda: RequestLog.objects.filter(source="orchestrator", user=user).first())
    assert row.status == 200 and row.model_used == LLAMA


def test_synthesis_moves_on_when_the_chosen_model_fails(gateway, user, bearer, http, sim):
    sim.configure(model_faults={MISTRAL: "429_provider:30"})

    response = http.post(gateway.url + URL, headers=bearer(user),
                         json={"prompt": "Name a prime.", "responses": RESPONSES, "model": MISTRAL})

    assert response.status_code == 200
    assert response.json()["modelId"] != MISTRAL and response.json()["content"]
    rows = wait_until(lambda: (r := list(RequestLog.objects.filter(source="orchestrator", user=user))) and len(r) == 2
                      and r)
    assert sorted(r.status for r in rows) == [200, 429]


def test_synthesis_reports_the_upstream_status_when_every_model_fails(gateway, user, bearer, http, sim):
    sim.configure(model_faults={"*": "429_provider:30"})

    response = http.post(gateway.url + URL, headers=bearer(user), json={"prompt": "p", "responses": RESPONSES})

    assert response.status_code == 429
    assert response.json()["message"].startswith("The synthesis failed")


def test_synthesis_refuses_anonymous_callers(gateway, user, http):
    response = http.post(gateway.url + URL, json={"prompt": "p", "responses": RESPONSES})

    assert response.status_code == 401
    assert set(response.json()) == {"message", "extra"}


def test_synthesis_rejects_bad_input_with_400(gateway, user, bearer, http):
    for body, words in [
        ({"prompt": "p"}, "responses"),
        ({"prompt": "p", "responses": []}, "responses"),
        ({"responses": RESPONSES}, "prompt"),
        ({"prompt": "p", "responses": [{"modelId": LLAMA}]}, "content"),
        ({"prompt": "p", "responses": RESPONSES, "model": "no/such-model"}, "no/such-model"),
    ]:
        response = http.post(gateway.url + URL, headers=bearer(user), json=body)

        assert response.status_code == 400, body
        assert words in response.json()["message"]
