"""Log lines: one JSON object per line carrying the request id of the response it belongs to; no secret in any."""

from __future__ import annotations

import json
import logging
import secrets

import httpx
from django.conf import settings

from gateway_project.logging_json import REQUEST_ID, JsonFormatter, PlainFormatter
from testing.factories import make_key, make_user, sync_catalog
from testing.servers import wait_until

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"


def test_json_lines_carry_the_request_id_of_their_response(gateway_process_factory, sim):
    sync_catalog()
    key = make_key(make_user())
    proc = gateway_process_factory(LOG_FORMAT="json", GATEWAY_METRICS="0")
    chat = {"model": LLAMA, "messages": [{"role": "user", "content": "hi"}]}
    fell_back = httpx.post(f"{proc.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                           json={**chat, "sim": {"fault": "500", "times": 1, "id": secrets.token_hex(4)}}, timeout=60)
    served = httpx.post(f"{proc.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=chat,
                        timeout=60)
    assert fell_back.status_code == served.status_code == 200
    assert httpx.get(f"{proc.url}/metrics", timeout=30).status_code == 404  # GATEWAY_METRICS=0
    wait_until(lambda: "did not serve" in proc.output(), timeout=15)
    proc.terminate()

    lines = [json.loads(line) for line in proc.output().splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    moved_on = [line for line in lines if "did not serve" in line["message"]]
    assert [line["request_id"] for line in moved_on] == [fell_back.headers["x-request-id"]]
    assert moved_on[0]["level"] == "INFO" and moved_on[0]["logger"] == "chat.proxy.router"
    assert not any(line.get("request_id") == served.headers["x-request-id"] for line in lines)


def _record(message: str, *args, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("chat.proxy.test", logging.ERROR, __file__, 1, message, args, exc_info)


def test_both_formats_mask_keys_jwts_passwords_and_the_configured_secrets():
    byok = "sk-or-v1-" + "a1b2c3d4" * 6
    gateway_key = "sk-gw-" + secrets.token_urlsafe(24)
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjo0Mn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    password = "hunter2-" + secrets.token_hex(4)
    configured = [settings.GATEWAY.secret_key, settings.GATEWAY.jwt_secret, settings.GATEWAY.encryption_master_key,
                  settings.GATEWAY.openrouter_api_keys[0]]
    try:
        raise ValueError(f"upstream refused {byok} with Authorization: Bearer {gateway_key}")
    except ValueError as exc:
        error = exc
    token = REQUEST_ID.set("req_masking")
    try:
        for formatter in (JsonFormatter(), PlainFormatter()):
            text = formatter.format(_record("login %s password=%s jwt %s {\"token\": \"%s\"} keys %s %s", gateway_key,
                                            password, jwt, jwt, *configured[:2], exc=error))
            text += formatter.format(_record("config %s %s", *configured[2:]))
            leaked = [s for s in (byok, gateway_key, jwt, password, *configured) if s in text]
            assert leaked == [], type(formatter).__name__
            assert "req_masking" in text and "ValueError" in text
    finally:
        REQUEST_ID.reset(token)
    line = JsonFormatter().format(_record("plain words stay", exc=None))
    assert json.loads(line)["message"] == "plain words stay"
