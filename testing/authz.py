"""Helpers of the authorization matrix test: every route the gateway serves, real objects for its
parameters, and one request per role over loopback HTTP.

The routes come from the configuration itself: Django's URL resolver (every pattern of
``gateway_project/urls.py`` and what it includes), the SSE consumers mounted by
``gateway_project/routing.py``, and the ``/v1`` routes of the proxy app.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from decimal import Decimal

import httpx
from django.urls import URLPattern, URLResolver, get_resolver

from testing.factories import make_key, make_user, sync_catalog

FREE_MODEL = "meta-llama/llama-3.3-70b-instruct:free"
# What fills a /v1 route template's parameters: a model id, and the pass-through's allowlisted path.
V1_PARAMS = {"id": FREE_MODEL, "upstream_path": "providers"}
_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


@dataclass(frozen=True)
class Route:
    """One route of the gateway: ``kind`` says who serves it (django, sse, asgi or v1)."""

    kind: str
    route: str


def _walk(patterns, prefix: str = "") -> list[str]:
    routes: list[str] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            routes += _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            routes.append(prefix + str(pattern.pattern))
    return routes


def django_routes() -> list[str]:
    """Every pattern Django resolves, as the concatenated route strings (``api/user/keys/<int:key_id>``)."""
    return _walk(get_resolver().url_patterns)


def sse_routes() -> list[str]:
    """Every Channels HTTP consumer that ``gateway_project.routing`` mounts."""
    from gateway_project.routing import sse_urlpatterns

    return [str(p.pattern) for p in sse_urlpatterns()]


def asgi_routes() -> list[str]:
    """The routes ``gateway_project.routing`` serves itself (``/metrics``), without the leading slash."""
    from gateway_project.routing import ASGI_ROUTES

    return [r.lstrip("/") for r in ASGI_ROUTES]


def all_routes(v1_routes) -> set[Route]:
    """The union of Django's, the SSE consumers', the ASGI router's own and the ``/v1`` app's routes."""
    return ({Route("django", r) for r in django_routes()} | {Route("sse", r) for r in sse_routes()}
            | {Route("asgi", r) for r in asgi_routes()} | {Route("v1", r.template) for r in v1_routes})


@dataclass
class World:
    """Real objects made through the services: ``owner``'s objects fill the path parameters."""

    owner: object
    other: object
    admin: object
    keys: dict[str, str]
    params: dict[str, str]


def build_shared() -> dict[str, str]:
    """The objects no caller owns (catalog, provider, alias, preset, limit, pool key, a group): their ids by name."""
    from django.contrib.auth.models import Group

    from accounts.services import upstream_key_add
    from models_catalog.models import CatalogModel
    from models_catalog.services import alias_set, preset_set, provider_create, usage_limit_set

    sync_catalog()
    model = CatalogModel.objects.get(model_id=FREE_MODEL)
    provider = provider_create(slug="authz-provider", name="Authz", kind="openai", base_url="http://127.0.0.1:9/v1")
    alias = alias_set(alias="authz-alias", model_id=FREE_MODEL)
    preset = preset_set(name="authz-preset", model_id=FREE_MODEL)
    limit = usage_limit_set(model=model, max_requests_per_day=1000, max_tokens_per_day=None)
    pool_key = upstream_key_add(api_key="sk-or-authz-" + secrets.token_hex(8), label="authz")
    group = Group.objects.create(name="authz")
    return {
        "provider_id": str(provider.id), "alias": alias.alias, "name": preset.name, "model_id": str(model.id),
        "model_pk": str(model.id), "app_label": "accounts", "url": "no-such-page/",
        "object_id@auth/group": str(group.id), "object_id@accounts/upstreamkey": str(pool_key.id),
        "upstream_key_id": str(pool_key.id),
        "pool_key_id": str(pool_key.id),
        "object_id@models_catalog/provider": str(provider.id), "object_id@models_catalog/catalogmodel": str(model.id),
        "object_id@models_catalog/alias": str(alias.pk), "object_id@models_catalog/preset": str(preset.pk),
        "object_id@models_catalog/usagelimit": str(limit.pk),
    }


def build_world(gateway_url: str, shared: dict[str, str]) -> World:
    """Three fresh accounts with their gateway keys, and one object of every kind ``owner`` can own."""
    from django.contrib.contenttypes.models import ContentType

    from accounts.models import GatewayKey
    from accounts.services import credits_top_up
    from chat.logbuffer import log_buffer
    from chat.models import RequestLog
    from chat.playground.services import conversation_create
    from testing.servers import wait_until

    owner, other, admin = make_user(), make_user(), make_user(admin=True)
    keys = {"owner": make_key(owner), "other": make_key(other), "admin": make_key(admin)}
    conversation = conversation_create(user_id=owner.id, model=FREE_MODEL)
    ledger = credits_top_up(user=owner, amount=Decimal("5"), note="authz")
    httpx.post(f"{gateway_url}/v1/chat/completions", headers={"Authorization": f"Bearer {keys['owner']}"},
               json={"model": FREE_MODEL, "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
    log_buffer().flush_from_thread()
    log = wait_until(lambda: RequestLog.objects.filter(user=owner).first(), timeout=10)
    key_id = str(GatewayKey.objects.filter(user=owner).values_list("id", flat=True).first())
    stored = httpx.post(f"{gateway_url}/v1/responses", headers={"Authorization": f"Bearer {keys['owner']}"},
                        json={"model": FREE_MODEL, "input": "hi"}, timeout=30).json()
    params = {
        **shared, "key_id": key_id, "user_id": str(owner.id), "conversation_id": str(conversation.id),
        "log_id": str(log.id), "request_id": log.request_id, "id": str(owner.id), "response_id": stored["id"],
        "content_type_id": str(ContentType.objects.get_for_model(type(owner)).id),
        "object_id@accounts/user": str(owner.id), "object_id@accounts/gatewaykey": key_id,
        "object_id@accounts/ledgerentry": str(ledger.id),
        "object_id": str(owner.id),  # django-admin/r/<content_type_id>/<object_id>/
    }
    return World(owner, other, admin, keys, params)


def fill(route: str, params: dict[str, str]) -> str:
    """The concrete path of ``route`` with every parameter replaced by a real object's identifier."""
    admin_model = re.match(r"django-admin/(\w+/\w+)/<", route)

    def value(name: str) -> str:
        if name == "object_id" and admin_model:
            return params[f"object_id@{admin_model.group(1)}"]
        return params[name]

    path = _PARAM.sub(lambda m: value(m.group("name")), route)
    path = _REGEX_GROUP.sub(lambda m: value(m.group("name")), path)
    path = path.replace("^", "").replace("$", "")
    path = re.sub(r"\{(\w+)\}", lambda m: V1_PARAMS.get(m.group(1)) or params[m.group(1)], path)
    return path if path.startswith("/") else "/" + path


def credentials(kind: str, path: str, role: str, world: World) -> tuple[dict[str, str], dict[str, str]]:
    """The headers and cookies ``role`` sends to ``path``: a gateway key on /v1, a JWT on the API and
    the SSE endpoints, a session (with a CSRF token) on pages and the Django admin."""
    from django.test import Client
    from rest_framework_simplejwt.tokens import RefreshToken

    csrf = secrets.token_hex(16)
    if role == "anonymous":  # a CSRF token, so a page's answer is about the login, not the form's token
        api = kind in ("v1", "sse") or path.startswith("/api/")
        return ({}, {}) if api else ({"X-CSRFToken": csrf}, {"csrftoken": csrf})
    user = {"user": world.owner, "other": world.other, "admin": world.admin}[role]
    if kind == "v1" and path.startswith("/v1/"):
        return {"Authorization": f"Bearer {world.keys[role if role != 'user' else 'owner']}"}, {}
    if kind in ("v1", "sse") or path.startswith("/api/"):
        return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}, {}
    client = Client()
    client.force_login(user)
    return {"X-CSRFToken": csrf}, {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf}


def send(base_url: str, method: str, kind: str, path: str, headers: dict, cookies: dict) -> httpx.Response:
    """One request as a client would send it: JSON ``{}`` to the API and /v1, an empty form to pages."""
    body: dict = {}
    if method in ("POST", "PUT", "PATCH"):
        if kind in ("v1", "sse") or path.startswith("/api/"):
            body = {"json": {"model": FREE_MODEL, "messages": [{"role": "user", "content": "hi"}], "input": "hi",
                             "max_tokens": 16, "prompt": "hi"}  # what /v1/messages and /v1/completions require
                    if kind == "v1" else {}}
        else:
            body = {"data": {}}
    with httpx.Client(base_url=base_url, cookies=cookies, timeout=30, follow_redirects=False) as client:
        if kind == "sse" and method == "GET":  # a live stream never ends: its status and headers are the answer
            with client.stream(method, path, headers=headers) as streamed:
                live = streamed.headers.get("content-type", "").startswith("text/event-stream")
                return httpx.Response(streamed.status_code, headers=streamed.headers,
                                      content=b"" if live else streamed.read())
        return client.request(method, path, headers=headers, **body)
