"""Secrets never reach a log line, a page or an error body.

A broad sample of traffic uses every kind of secret the gateway holds (pool keys, a BYOK
key, gateway keys, JWTs, passwords, the master key and the signing secrets): good answers,
refusals, upstream failures, admin pages, log detail pages and the CSV export, through the
in-process gateway and a gateway subprocess (JSON log lines, a metrics token). Then every captured log line (caplog and the
subprocess's output), every page and every error body is searched for each secret.
"""

import logging
import os
from decimal import Decimal

import httpx

from accounts.services import credits_top_up
from chat.models import RequestLog
from gateway_project import invalidation
from models_catalog.models import CatalogModel
from testing.env import POOL_KEYS
from testing.factories import PASSWORD, make_key, make_user, sync_catalog
from testing.servers import wait_until

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
PAID = "openai/gpt-4o-mini"
BYOK = "sk-or-v1-byok-" + "9f3c2a71" * 6
METRICS_TOKEN = "metrics-" + "5d1e8b3a" * 4


def _login_page(client: httpx.Client, email: str, password: str) -> httpx.Response:
    client.get("/login/")
    token = client.cookies["csrftoken"]
    return client.post("/login/", data={"email": email, "password": password, "csrfmiddlewaretoken": token})


def _traffic(url: str, users: dict, keys: dict, bodies: list[str]) -> None:
    """Every request a user, an attacker and an admin would make; each answer's text is kept."""
    def keep(response: httpx.Response) -> httpx.Response:
        bodies.append(f"{response.request.method} {response.request.url} {response.status_code}\n"
                      f"{response.headers}\n{response.text}")
        return response

    with httpx.Client(base_url=url, timeout=30) as http:
        tokens = keep(http.post("/api/auth/login", json={"email": users["user"].email, "password": PASSWORD})).json()
        keep(http.post("/api/auth/login", json={"email": users["user"].email, "password": PASSWORD + "x"}))
        keep(http.post("/api/auth/refresh", json={"refresh": tokens["refresh"]}))
        keep(http.post("/api/auth/refresh", json={"refresh": tokens["refresh"][:-4] + "AAAA"}))
        jwt = {"Authorization": f"Bearer {tokens['access']}"}
        keep(http.get("/api/auth/me", headers=jwt))
        keep(http.get("/api/auth/me", headers={"Authorization": f"Bearer {tokens['access'][:-3]}xyz"}))
        keep(http.post("/api/auth/change-password", headers=jwt,
                       json={"oldPassword": "wrong-" + PASSWORD, "newPassword": PASSWORD + "-next"}))
        chat = {"model": LLAMA, "messages": [{"role": "user", "content": "hi"}]}
        for secret in (keys["user"], keys["user"][:-2] + "zz", "sk-gw-not-a-key", POOL_KEYS[0]):
            keep(http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"}, json=chat))
        key = {"Authorization": f"Bearer {keys['user']}"}
        for fault in ("401", "402", "500", "502", "429_minute", "400"):
            keep(http.post("/v1/chat/completions", headers=key, json={**chat, "sim": {"fault": fault}}))
        keep(http.post("/v1/chat/completions", headers=key, json={**chat, "stream": True, "sim": {"fault": "midstream"}}))
        keep(http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {keys['broke']}"},
                       json={**chat, "model": PAID}))
        keep(http.post("/v1/embeddings", headers=key, json={"model": LLAMA, "input": "hi"}))
        keep(http.get("/v1/models", headers=key))
        keep(http.get("/v1/key", headers=key))
        # BYOK: the user's own upstream key is stored, used, rejected upstream, and shown only as a status.
        keep(http.put("/api/user/api-key", headers=jwt, json={"apiKey": BYOK}))
        keep(http.get("/api/user/api-key/status", headers=jwt))
        keep(http.post("/v1/chat/completions", headers=key, json=chat))
        keep(http.post("/v1/chat/completions", headers=key, json={**chat, "sim": {"fault": "401"}}))
        keep(http.get("/api/user/chat-logs", headers=jwt))
        keep(http.post("/api/chat/completions", headers=jwt, json=chat))
        for headers in ({"Authorization": f"Bearer {METRICS_TOKEN}"}, {"Authorization": f"Bearer {METRICS_TOKEN[:-1]}"},
                        {}):  # where no token is set, open on loopback
            keep(http.get("/metrics", headers=headers))
    with httpx.Client(base_url=url, timeout=30) as page:
        keep(_login_page(page, users["user"].email, PASSWORD + "-wrong"))
        keep(_login_page(page, users["user"].email, PASSWORD))
        for path in ("/settings/", "/usage/", "/playground/"):
            keep(page.get(path))
    with httpx.Client(base_url=url, timeout=30) as admin:
        keep(_login_page(admin, users["admin"].email, PASSWORD))
        admin_jwt = {"Authorization": "Bearer " + admin.post("/api/auth/login", json={
            "email": users["admin"].email, "password": PASSWORD}).json()["access"]}
        for path in ("/console/", "/console/logs/", "/console/users/", "/console/upstream-keys/",
                     "/django-admin/accounts/upstreamkey/", "/django-admin/accounts/gatewaykey/",
                     "/django-admin/accounts/user/"):
            keep(admin.get(path))
        for row in RequestLog.objects.all():
            keep(admin.get(f"/console/logs/{row.id}/"))
            keep(admin.get(f"/api/admin/chat-logs/{row.id}", headers=admin_jwt))
        for path in ("/api/admin/chat-logs/export", "/api/admin/upstream-keys", "/api/admin/keys", "/api/admin/users"):
            keep(admin.get(path, headers=admin_jwt))


def test_no_secret_reaches_a_log_line_a_page_or_an_error_body(gateway, gateway_process_factory, sim, caplog):
    caplog.set_level(logging.DEBUG)
    sync_catalog()
    CatalogModel.objects.filter(model_id=PAID).update(enabled=True)
    invalidation.announce(invalidation.CATALOG)
    users = {"user": make_user(), "broke": make_user(), "admin": make_user(admin=True)}
    credits_top_up(user=users["user"], amount=Decimal("5"), note="secrets")
    keys = {name: make_key(user) for name, user in users.items()}
    proc = gateway_process_factory(GATEWAY_LOG_BODIES="1", LOG_FORMAT="json", METRICS_TOKEN=METRICS_TOKEN)
    bodies: list[str] = []
    for url in (gateway.url, proc.url):
        _traffic(url, users, keys, bodies)
    from chat.logbuffer import log_buffer

    log_buffer().flush_from_thread()
    wait_until(lambda: RequestLog.objects.filter(user=users["user"]).count() >= 20, timeout=15)
    proc.terminate()

    secrets = {
        **{f"pool key {i}": k for i, k in enumerate(POOL_KEYS)},
        "BYOK key": BYOK,
        **{f"gateway key of {name}": k for name, k in keys.items()},
        "password": PASSWORD,
        "ENCRYPTION_MASTER_KEY": os.environ["ENCRYPTION_MASTER_KEY"],
        "DJANGO_SECRET_KEY": os.environ["DJANGO_SECRET_KEY"],
        "JWT_SECRET": os.environ["JWT_SECRET"],
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    # The JWTs handed out are secrets too: none may be echoed back anywhere but the login answer itself.
    issued = [b.split("\n", 2)[2] for b in bodies if "/api/auth/login 200" in b.split("\n", 1)[0]]
    tokens = [t for body in issued for t in httpx.Response(200, text=body).json().values() if isinstance(t, str)]
    outputs = {"caplog": caplog.text, "gateway subprocess output": proc.output(),
               **{f"answer {i}: {b.split(chr(10), 1)[0]}": b for i, b in enumerate(bodies)
                  if "/api/auth/login 200" not in b.split("\n", 1)[0]
                  and "/api/auth/refresh 200" not in b.split("\n", 1)[0]}}
    assert len(outputs) > 60
    leaks = [f"{name} in {where}" for where, text in outputs.items() for name, secret in secrets.items()
             if secret in text]
    leaks += [f"a JWT in {where}" for where, text in outputs.items() for token in tokens if token in text]
    assert leaks == []
