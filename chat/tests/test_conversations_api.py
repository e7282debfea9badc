"""The conversations REST API and its SSE twin, over real HTTP against the live gateway."""

from __future__ import annotations

from contextlib import closing

import pytest

from chat.models import Conversation, Message, RequestLog
from testing.browser import csrf_header, jwt_headers, session_client
from testing.factories import make_user, sync_catalog
from testing.servers import wait_until
from testing.sse import parse_sse

MODEL = "meta-llama/llama-3.3-70b-instruct:free"


def _logged(user, count: int) -> list[RequestLog]:
    """Wait until ``count`` playground requests of ``user`` are in the request log, and return them."""
    def rows() -> list[RequestLog] | None:
        found = list(RequestLog.objects.filter(user=user, source="playground").order_by("id"))
        return found if len(found) >= count else None

    return wait_until(rows, timeout=10)


@pytest.fixture
def owner(gateway):
    sync_catalog(MODEL)
    return make_user()


def test_anonymous_callers_get_401_everywhere(gateway, http, owner):
    conversation = Conversation.objects.create(user=owner, model=MODEL)
    base = f"{gateway.url}/api/conversations"
    assert http.get(base).status_code == 401
    assert http.post(base, json={"model": MODEL}).status_code == 401
    assert http.get(f"{base}/{conversation.id}").status_code == 401
    assert http.delete(f"{base}/{conversation.id}").status_code == 401
    assert http.post(f"{base}/{conversation.id}/messages", json={"content": "hi"}).status_code == 401
    response = http.post(f"{base}/{conversation.id}/messages/stream", json={"content": "hi"})
    assert response.status_code == 401
    assert response.json()["message"]
    assert Message.objects.count() == 0


def test_another_users_conversation_is_404_everywhere(gateway, http, owner):
    theirs = Conversation.objects.create(user=owner, model=MODEL, title="private plans")
    headers = jwt_headers(make_user())
    base = f"{gateway.url}/api/conversations/{theirs.id}"
    assert http.get(base, headers=headers).status_code == 404
    assert http.delete(base, headers=headers).status_code == 404
    assert http.post(f"{base}/messages", json={"content": "hi"}, headers=headers).status_code == 404
    stream = http.post(f"{base}/messages/stream", json={"content": "hi"}, headers=headers)
    assert stream.status_code == 404
    assert stream.json() == {"message": "No such conversation.", "extra": {}}
    listed = http.get(f"{gateway.url}/api/conversations", headers=headers).json()
    assert listed["count"] == 0
    assert Conversation.objects.filter(pk=theirs.id).exists()
    assert Message.objects.count() == 0


def test_bad_input_is_400(gateway, http, owner):
    headers = jwt_headers(owner)
    base = f"{gateway.url}/api/conversations"
    refused = http.post(base, json={"model": "no/such-model"}, headers=headers)
    assert refused.status_code == 400
    assert "My models" in refused.json()["message"]
    assert http.post(base, json={}, headers=headers).status_code == 400
    conversation = http.post(base, json={"model": MODEL}, headers=headers).json()
    empty = http.post(f"{base}/{conversation['id']}/messages", json={"content": "  "}, headers=headers)
    assert empty.status_code == 400
    stream = http.post(f"{base}/{conversation['id']}/messages/stream", json={"content": ""}, headers=headers)
    assert stream.status_code == 400
    assert stream.json()["extra"] == {"param": "content"}
    assert Message.objects.count() == 0


def test_create_list_read_and_delete_a_conversation(gateway, http, owner):
    headers = jwt_headers(owner)
    base = f"{gateway.url}/api/conversations"
    created = http.post(base, json={"model": MODEL, "title": "Plans"}, headers=headers)
    assert created.status_code == 201
    body = created.json()
    assert body["model"] == MODEL and body["title"] == "Plans" and body["messages"] == []
    listed = http.get(base, headers=headers).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == body["id"]
    assert set(listed) == {"count", "next", "previous", "results"}
    assert http.delete(f"{base}/{body['id']}", headers=headers).status_code == 204
    assert http.get(f"{base}/{body['id']}", headers=headers).status_code == 404
    assert not Conversation.objects.filter(pk=body["id"]).exists()


def test_a_blocking_message_gets_its_answer_a_title_and_a_playground_log(gateway, http, owner):
    headers = jwt_headers(owner)
    base = f"{gateway.url}/api/conversations"
    conversation = http.post(base, json={"model": MODEL}, headers=headers).json()
    answer = http.post(f"{base}/{conversation['id']}/messages", json={"content": "Plan a picnic for Sunday"},
                       headers=headers)
    assert answer.status_code == 201
    body = answer.json()
    assert body["message"]["content"] == f"Hello from {MODEL}. You said: Plan a picnic for Sunday"
    assert body["title"] == "Plan a picnic for Sunday"
    assert body["usage"]["completion_tokens"] > 0
    detail = http.get(f"{base}/{conversation['id']}", headers=headers).json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]
    assert [log.status for log in _logged(owner, 1)] == [200]


def test_the_stream_delivers_many_token_events_then_done(gateway, http, owner):
    headers = jwt_headers(owner)
    base = f"{gateway.url}/api/conversations"
    conversation = http.post(base, json={"model": MODEL, "systemPrompt": "Be brief", "temperature": 0.3},
                             headers=headers).json()
    response = http.post(f"{base}/{conversation['id']}/messages/stream",
                         json={"content": "one two three four five"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    tokens = [data for name, data in events if name == "token"]
    assert len(tokens) >= 8
    assert "".join(tokens) == f"Hello from {MODEL}. You said: one two three four five"
    name, done = events[-1]
    assert name == "done"
    assert done["title"] == "one two three four five"
    assert done["usage"]["total_tokens"] > 0
    saved = Message.objects.get(pk=done["messageId"])
    assert saved.role == "assistant" and saved.content == "".join(tokens)
    upstream = gateway_request = [r for r in _sim_requests() if r["body"].get("stream")][-1]["body"]
    assert upstream["messages"][0] == {"role": "system", "content": "Be brief"}
    assert upstream["temperature"] == 0.3
    assert gateway_request is upstream
    assert _logged(owner, 1)[0].status == 200


def _sim_requests():
    import httpx

    from testing import env

    return httpx.get(f"http://127.0.0.1:{env.SIM_PORT}/_sim/requests").json()["requests"]


def test_a_refusal_is_an_error_event_that_says_what_to_do_and_leaves_no_message(gateway, http, owner, settings):
    from gateway_project import invalidation
    from models_catalog.models import CatalogModel

    headers = jwt_headers(owner)
    base = f"{gateway.url}/api/conversations"
    conversation = http.post(base, json={"model": MODEL}, headers=headers).json()
    CatalogModel.objects.filter(model_id=MODEL).update(enabled=False)
    invalidation.announce(invalidation.CATALOG)
    response = http.post(f"{base}/{conversation['id']}/messages/stream", json={"content": "hello"}, headers=headers)
    name, error = parse_sse(response.text)[-1]
    assert name == "error"
    assert "no longer available" in error["message"] and "new conversation" in error["message"]
    assert Message.objects.count() == 0
    blocking = http.post(f"{base}/{conversation['id']}/messages", json={"content": "hello"}, headers=headers)
    assert blocking.status_code == 404
    assert "no longer available" in blocking.json()["message"]
    assert [log.status for log in _logged(owner, 2)] == [404, 404]


def test_session_callers_of_the_stream_need_the_csrf_token(gateway, owner):

    with closing(session_client(gateway.url, owner)) as browser:
        conversation = Conversation.objects.create(user=owner, model=MODEL)
        url = f"/api/conversations/{conversation.id}/messages/stream"
        assert browser.post(url, json={"content": "hi"}).status_code == 403
        ok = browser.post(url, json={"content": "hi"}, headers=csrf_header(browser))
        assert ok.status_code == 200
        assert parse_sse(ok.text)[-1][0] == "done"
    assert len(_logged(owner, 1)) == 1


def test_a_client_that_disconnects_stops_the_upstream_request(gateway, owner, sim):
    import httpx

    sim.configure(model_faults={MODEL: "chunk_delay:200"})
    headers = jwt_headers(owner)
    conversation = Conversation.objects.create(user=owner, model=MODEL)
    url = f"{gateway.url}/api/conversations/{conversation.id}/messages/stream"
    with httpx.Client(timeout=30) as client, client.stream(
        "POST", url, json={"content": " ".join(["word"] * 40)}, headers=headers
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event: token"):
                break
    wait_until(lambda: sim.state()["disconnects"] >= 1, timeout=10)
    assert _logged(owner, 1)[0].client_disconnected
    kept = wait_until(lambda: Message.objects.filter(conversation=conversation, role="assistant").first())
    assert kept.content.startswith("Hello")
