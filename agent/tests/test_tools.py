"""The agent's tools, on figures made by real requests through the gateway."""

from __future__ import annotations

from asgiref.sync import async_to_sync

from accounts.principals import principal_for_user
from agent import tools
from chat.models import RequestLog
from testing.factories import make_key, make_user
from testing.servers import wait_until

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
GEMMA = "google/gemma-3-27b-it:free"


def chat(gateway, http, secret: str, model: str = LLAMA) -> None:
    response = http.post(f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"},
                         json={"model": model, "messages": [{"role": "user", "content": "hi there"}]})
    assert response.status_code == 200


def run(user, name: str, args: dict) -> dict:
    return async_to_sync(tools.run_tool)(principal=principal_for_user(user.id), name=name, args=args)


def test_usage_stats_counts_the_callers_own_requests_only(gateway, user, http):
    other = make_user()
    chat(gateway, http, make_key(user))
    chat(gateway, http, make_key(user), GEMMA)
    chat(gateway, http, make_key(other))
    wait_until(lambda: RequestLog.objects.count() == 3)

    mine = run(user, "usage_stats", {"period": "day", "scope": "gateway"})

    assert mine["scope"] == "me" and "admins" in mine["note"]
    assert mine["requests"] == 2 and mine["errors"] == 0
    assert mine["totalTokens"] == mine["promptTokens"] + mine["completionTokens"] > 0
    assert {m["model"] for m in mine["byModel"]} == {LLAMA, GEMMA}
    assert mine["bySource"] == {"api": 2}
    assert tools.short(mine).startswith("2 requests (0 failed)")


def test_usage_stats_gives_admins_the_whole_gateway(gateway, user, http):
    admin = make_user(admin=True)
    chat(gateway, http, make_key(user))
    chat(gateway, http, make_key(admin))
    wait_until(lambda: RequestLog.objects.count() == 2)

    everyone = run(admin, "usage_stats", {"scope": "gateway", "period": "bogus"})
    own = run(admin, "usage_stats", {})

    assert everyone["scope"] == "gateway" and everyone["period"] == "month"
    assert everyone["requests"] == 2 and everyone["activeUsers"] == 2
    assert own["scope"] == "me" and own["requests"] == 1 and "activeUsers" not in own


def test_list_models_shows_the_callers_models_with_flags_and_health(gateway, user, http):
    chat(gateway, http, make_key(user))
    wait_until(lambda: RequestLog.objects.exists())

    listed = run(user, "list_models", {"tools_only": True})
    every = run(user, "list_models", {"free_only": "not a flag"})

    ids = [m["id"] for m in listed["models"]]
    assert LLAMA in ids and GEMMA not in ids
    assert GEMMA in [m["id"] for m in every["models"]] and every["count"] == listed["count"] + 1
    llama = next(m for m in listed["models"] if m["id"] == LLAMA)
    assert llama["free"] is True and llama["supportsTools"] is True and llama["health"] == "healthy"
    assert next(m for m in every["models"] if m["id"] == GEMMA)["health"] == "unknown"


def test_an_unknown_tool_answers_with_an_error_the_model_can_read(gateway, user):
    assert "list_models" in run(user, "delete_everything", {})["error"]
