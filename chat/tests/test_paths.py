"""The /v1 path is normalised once and dispatched through one table; near-spellings reach the real chat route."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat.models import RequestLog
from chat.proxy.errors import ProxyError
from chat.proxy.paths import V1_ROUTES, match, normalise
from chat.tests.conftest import LLAMA, QWEN
from testing.factories import make_key
from testing.rawhttp import raw_request
from testing.servers import wait_until

CHAT_BODY = b'{"model": "%s", "messages": [{"role": "user", "content": "hi"}]}'

NEAR_SPELLINGS = ["/v1/./chat/completions", "/v1/x/../chat/completions", "//v1//chat/completions",
                  "/v1/chat/./completions/", "/v1/%63hat/completions", "/%76%31/chat/completions"]
AMBIGUOUS = ["/v1/chat/completions%3F", "/v1/chat/completions%3Fx=1", "/v1/chat/completions%23",
             "/v1/foo%00bar", "/v1/chat%0acompletions", "/v1/%zz", "/v1/%e2%28", "/v1/a%5cb",
             "/v1/../../_sim/requests", "/v1/%2e%2e/%2e%2e/_sim/requests", "/v1/..%2f..%2f_sim/requests",
             "/v1/..", "/v1/x/../../x"]


@pytest.mark.parametrize("spelling", NEAR_SPELLINGS)
def test_near_spellings_normalise_to_the_chat_route(spelling):
    route, _ = match("POST", normalise(spelling.encode()))
    assert route.template == "/v1/chat/completions"


@pytest.mark.parametrize("spelling", AMBIGUOUS)
def test_ambiguous_paths_are_refused_with_a_400(spelling):
    with pytest.raises(ProxyError) as refused:
        normalise(spelling.encode())
    assert refused.value.status == 400 and refused.value.code == "invalid_path"


def test_an_encoded_slash_stays_inside_a_model_id():
    route, params = match("GET", normalise(b"/v1/models/meta-llama%2Fllama-3.3-70b-instruct:free"))
    assert route.name == "model_detail" and params == {"id": "meta-llama/llama-3.3-70b-instruct:free"}
    route, params = match("POST", normalise(b"/v1/chat%2Fcompletions"))
    assert route.name == "passthrough" and params == {"upstream_path": "chat/completions"}  # refused there


def test_wrong_method_on_a_known_route_is_405_with_allow():
    with pytest.raises(ProxyError) as refused:
        match("GET", ("v1", "chat", "completions"))
    assert refused.value.status == 405 and refused.value.headers == {"allow": "POST"}
    with pytest.raises(ProxyError) as refused:
        match("DELETE", ("v1", "models", "x"))
    assert refused.value.status == 405 and refused.value.headers == {"allow": "GET"}


def test_every_route_of_the_table_is_reachable_by_its_own_template():
    for route in V1_ROUTES:
        concrete = route.template.replace("{id}", "some/model").replace("{upstream_path}", "providers")
        method = "POST" if route.method == "*" else route.method
        assert match(method, normalise(concrete.encode()))[0] == route


@pytest.mark.parametrize("spelling", NEAR_SPELLINGS)
def test_near_spellings_go_through_the_keys_model_allowlist(caller, gateway, sim, spelling):
    limited = make_key(caller.user, models=[QWEN])
    auth = {"Authorization": f"Bearer {limited}", "Content-Type": "application/json"}
    refused = raw_request(gateway.url, "POST", spelling, headers=auth, body=CHAT_BODY % LLAMA.encode())
    assert refused.status == 403 and refused.json()["error"]["code"] == "model_not_allowed"
    served = raw_request(gateway.url, "POST", spelling, headers=auth, body=CHAT_BODY % QWEN.encode())
    assert served.status == 200 and served.json()["model"] == QWEN
    assert [r["body"]["model"] for r in sim.requests()] == [QWEN]
    rows = wait_until(lambda: list(RequestLog.objects.order_by("created_at")) if RequestLog.objects.count() == 2
                      else None)
    assert [(r.status, r.model_requested, r.endpoint) for r in rows] == [
        (403, LLAMA, "chat/completions"), (200, QWEN, "chat/completions")]
    assert rows[1].model_used == QWEN and rows[1].total_tokens > 0


@pytest.mark.parametrize("spelling", AMBIGUOUS)
def test_ambiguous_paths_get_a_400_in_the_openai_shape_and_reach_nothing(caller, gateway, sim, spelling):
    auth = {"Authorization": f"Bearer {caller.secret}", "Content-Type": "application/json"}
    before = sim.forwarded()  # the catalog sync of the fixture
    answer = raw_request(gateway.url, "POST", spelling, headers=auth, body=CHAT_BODY % LLAMA.encode())
    assert answer.status == 400
    assert answer.json()["error"]["code"] == "invalid_path" and answer.json()["error"]["type"] == "invalid_request_error"
    assert answer.headers["x-request-id"].startswith("req_")
    assert sim.forwarded() == before and sim.requests() == []


def test_wrong_method_on_the_live_chat_route_is_405_with_allow(caller, gateway):
    answer = raw_request(gateway.url, "GET", "/v1/chat/completions",
                         headers={"Authorization": f"Bearer {caller.secret}"})
    assert answer.status == 405 and answer.headers["allow"] == "POST"
    assert answer.json()["error"]["code"] == "method_not_allowed"


# ---------------------------------------------------------------- property: any spelling of a /v1 path

_PIECES = st.sampled_from(["v1", "chat", "completions", "embeddings", "providers", "models", "key", "credits",
                           "_sim", "requests", "api", ".", "..", "", "%2e", "%2E%2e", "%2f", "%2F..", "%3f", "%3F",
                           "%23", "%00", "%0a", "%0D", "%7f", "%c2%85", "%zz", "%", "%4", "%c3", "%c3%a9", "%ff",
                           "%5c", "%20", "~", ";x", "%2e%2e%2f"])
_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~:@", max_size=8)
_ESCAPES = st.binary(min_size=1, max_size=3).map(lambda raw: "".join(f"%{b:02x}" for b in raw))
_SEGMENT = st.lists(st.one_of(_PIECES, _WORDS, _ESCAPES), min_size=1, max_size=3).map("".join)
_PREFIX = st.sampled_from(["/v1/", "//v1/", "/v1//", "/%76%31/", "/v1/./", "/api/chat/completions/"])
_SPELLING = st.builds(lambda prefix, segments: prefix + "/".join(segments), _PREFIX,
                      st.lists(_SEGMENT, max_size=5))
_UPSTREAM_ALLOWED = ("/api/v1/chat/completions", "/api/v1/embeddings", "/api/v1/providers")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spelling=_SPELLING, method=st.sampled_from(["GET", "POST", "DELETE"]))
def test_no_spelling_of_a_v1_path_gets_a_500_or_reaches_the_upstream_outside_the_allowlist(
        caller, gateway, sim, spelling, method):
    before = len(sim.forwarded())
    answer = raw_request(gateway.url, method, spelling, body=CHAT_BODY % QWEN.encode(),
                         headers={"Authorization": f"Bearer {caller.secret}", "Content-Type": "application/json"})
    assert answer.status < 500, (spelling, answer.status, answer.body[:300])
    assert b"Traceback" not in answer.body and b'File "' not in answer.body
    for seen in sim.forwarded()[before:]:
        path = seen.split(" ", 1)[1]
        assert path.startswith(_UPSTREAM_ALLOWED) and ".." not in path, (spelling, seen)
