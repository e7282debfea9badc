"""Who may do what, on every route the gateway serves: a table generated against the URL configuration.

Each route (Django's URL resolver, the SSE consumers, the ASGI router's own, the /v1 app) is requested as four callers:
anonymous, ``user`` (who owns every object named in the path), ``other`` (another user: an object
of ``user``'s is a 404, so its existence never leaks) and ``admin``. A route without a row fails
the test, and so does a row without a route. Path parameters are real objects made through the
services; every row starts from a fresh database.
"""

from __future__ import annotations

from chat.proxy.paths import V1_ROUTES
from testing import authz
from testing.authz import Route, all_routes, build_shared, build_world, credentials, fill, send

ROLES = ("anonymous", "user", "other", "admin")

# (method, route, anonymous, user, other, admin). 302 on a page is the redirect to a login form.
MATRIX = (
    ("GET", "health/live", 200, 200, 200, 200),
    ("GET", "health/ready", 200, 200, 200, 200),
    # Open on loopback while METRICS_TOKEN is unset, as in the suite (chat/tests/test_metrics.py: the token, 403).
    ("GET", "metrics", 200, 200, 200, 200),
    ("GET", "django-admin/", 302, 302, 302, 200),
    ("GET", "django-admin/login/", 200, 200, 200, 302),
    ("POST", "django-admin/logout/", 302, 302, 302, 200),
    ("GET", "django-admin/password_change/", 302, 302, 302, 200),
    ("GET", "django-admin/password_change/done/", 302, 302, 302, 200),
    ("GET", "django-admin/autocomplete/", 302, 302, 302, 403),
    ("GET", "django-admin/jsi18n/", 302, 302, 302, 200),
    ("GET", "django-admin/r/<path:content_type_id>/<path:object_id>/", 302, 302, 302, 404),
    ("GET", "django-admin/auth/group/", 302, 302, 302, 200),
    ("GET", "django-admin/auth/group/add/", 302, 302, 302, 200),
    ("GET", "django-admin/auth/group/<path:object_id>/history/", 302, 302, 302, 200),
    ("GET", "django-admin/auth/group/<path:object_id>/delete/", 302, 302, 302, 200),
    ("GET", "django-admin/auth/group/<path:object_id>/change/", 302, 302, 302, 200),
    ("GET", "django-admin/auth/group/<path:object_id>/", 302, 302, 302, 302),
    ("GET", "django-admin/accounts/user/<id>/password/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/user/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/user/add/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/user/<path:object_id>/history/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/user/<path:object_id>/delete/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/user/<path:object_id>/change/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/user/<path:object_id>/", 302, 302, 302, 302),
    ("GET", "django-admin/accounts/gatewaykey/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/gatewaykey/add/", 302, 302, 302, 403),
    ("GET", "django-admin/accounts/gatewaykey/<path:object_id>/history/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/gatewaykey/<path:object_id>/delete/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/gatewaykey/<path:object_id>/change/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/gatewaykey/<path:object_id>/", 302, 302, 302, 302),
    ("GET", "django-admin/accounts/upstreamkey/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/upstreamkey/add/", 302, 302, 302, 403),
    ("GET", "django-admin/accounts/upstreamkey/<path:object_id>/history/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/upstreamkey/<path:object_id>/delete/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/upstreamkey/<path:object_id>/change/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/upstreamkey/<path:object_id>/", 302, 302, 302, 302),
    ("GET", "django-admin/accounts/ledgerentry/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/ledgerentry/add/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/ledgerentry/<path:object_id>/history/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/ledgerentry/<path:object_id>/delete/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/ledgerentry/<path:object_id>/change/", 302, 302, 302, 200),
    ("GET", "django-admin/accounts/ledgerentry/<path:object_id>/", 302, 302, 302, 302),
    ("GET", "django-admin/models_catalog/provider/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/provider/add/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/provider/<path:object_id>/history/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/provider/<path:object_id>/delete/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/provider/<path:object_id>/change/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/provider/<path:object_id>/", 302, 302, 302, 302),
    ("GET", "django-admin/models_catalog/catalogmodel/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/catalogmodel/add/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/catalogmodel/<path:object_id>/history/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/catalogmodel/<path:object_id>/delete/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/catalogmodel/<path:object_id>/change/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/catalogmodel/<path:object_id>/", 302, 302, 302, 302),
    ("GET", "django-admin/models_catalog/alias/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/alias/add/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/alias/<path:object_id>/history/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/alias/<path:object_id>/delete/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/alias/<path:object_id>/change/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/alias/<path:object_id>/", 302, 302, 302, 302),
    ("GET", "django-admin/models_catalog/preset/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/preset/add/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/preset/<path:object_id>/history/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/preset/<path:object_id>/delete/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/preset/<path:object_id>/change/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/preset/<path:object_id>/", 302, 302, 302, 302),
    ("GET", "django-admin/models_catalog/usagelimit/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/usagelimit/add/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/usagelimit/<path:object_id>/history/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/usagelimit/<path:object_id>/delete/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/usagelimit/<path:object_id>/change/", 302, 302, 302, 200),
    ("GET", "django-admin/models_catalog/usagelimit/<path:object_id>/", 302, 302, 302, 302),
    ("GET", "django-admin/^(?P<app_label>auth|accounts|models_catalog)/$", 302, 302, 302, 404),
    ("GET", "django-admin/(?P<url>.*)$", 302, 302, 302, 404),
    ("POST", "api/auth/register", 400, 400, 400, 400),
    ("POST", "api/auth/login", 400, 400, 400, 400),
    ("POST", "api/auth/refresh", 400, 400, 400, 400),
    ("POST", "api/auth/change-password", 401, 400, 400, 400),
    ("GET", "api/auth/me", 401, 200, 200, 200),
    ("GET", "api/schema/", 401, 200, 200, 200),
    ("POST", "api/auth/logout", 401, 204, 204, 204),
    ("POST", "api/auth/device/code", 200, 200, 200, 200),
    ("POST", "api/auth/device/token", 400, 400, 400, 400),
    ("PUT", "api/user/api-key", 401, 400, 400, 400),
    ("DELETE", "api/user/api-key", 401, 204, 204, 204),
    ("GET", "api/user/api-key/status", 401, 200, 200, 200),
    ("GET", "api/user/keys", 401, 200, 200, 200),
    ("POST", "api/user/keys", 401, 400, 400, 400),
    ("PATCH", "api/user/keys/<int:key_id>", 401, 400, 404, 404),
    ("DELETE", "api/user/keys/<int:key_id>", 401, 204, 404, 404),
    ("POST", "api/admin/invites", 401, 403, 403, 201),
    ("GET", "api/admin/users", 401, 403, 403, 200),
    ("PUT", "api/admin/users/<int:user_id>/role", 401, 403, 403, 400),
    ("PUT", "api/admin/users/<int:user_id>/status", 401, 403, 403, 400),
    ("POST", "api/admin/users/<int:user_id>/credits", 401, 403, 403, 400),
    ("PUT", "api/admin/users/<int:user_id>/limits", 401, 403, 403, 400),
    ("GET", "api/admin/keys", 401, 403, 403, 200),
    ("PATCH", "api/admin/keys/<int:key_id>", 401, 403, 403, 400),
    ("DELETE", "api/admin/cache", 401, 403, 403, 200),
    ("GET", "api/admin/upstream-keys", 401, 403, 403, 200),
    ("POST", "api/admin/upstream-keys", 401, 403, 403, 400),
    ("POST", "api/admin/upstream-keys/import", 401, 403, 403, 400),
    ("PATCH", "api/admin/upstream-keys/<int:upstream_key_id>", 401, 403, 403, 400),
    ("GET", "api/admin/models", 401, 403, 403, 200),
    ("PUT", "api/admin/models/toggle", 401, 403, 403, 400),
    ("POST", "api/admin/sync-models", 401, 403, 403, 200),
    ("GET", "api/admin/providers", 401, 403, 403, 200),
    ("POST", "api/admin/providers", 401, 403, 403, 400),
    ("PATCH", "api/admin/providers/<int:provider_id>", 401, 403, 403, 200),
    ("GET", "api/admin/aliases", 401, 403, 403, 200),
    ("PUT", "api/admin/aliases", 401, 403, 403, 400),
    ("DELETE", "api/admin/aliases/<path:alias>", 401, 403, 403, 204),
    ("GET", "api/admin/presets", 401, 403, 403, 200),
    ("PUT", "api/admin/presets", 401, 403, 403, 400),
    ("DELETE", "api/admin/presets/<slug:name>", 401, 403, 403, 204),
    ("GET", "api/admin/usage-limits", 401, 403, 403, 200),
    ("PUT", "api/admin/usage-limits", 401, 403, 403, 400),
    ("GET", "api/chat/models", 401, 200, 200, 200),
    ("GET", "api/user/models", 401, 200, 200, 200),
    ("PUT", "api/user/models/<int:model_id>/toggle", 401, 200, 200, 200),
    ("GET", "api/user/models/<int:model_id>/status", 401, 200, 200, 200),
    ("GET", "api/conversations", 401, 200, 200, 200),
    ("POST", "api/conversations", 401, 400, 400, 400),
    ("GET", "api/conversations/<int:conversation_id>", 401, 200, 404, 404),
    ("DELETE", "api/conversations/<int:conversation_id>", 401, 204, 404, 404),
    ("POST", "api/conversations/<int:conversation_id>/messages", 401, 400, 404, 404),
    ("GET", "api/admin/stats", 401, 403, 403, 200),
    ("GET", "api/admin/chat-logs", 401, 403, 403, 200),
    ("GET", "api/admin/chat-logs/export", 401, 403, 403, 200),
    ("GET", "api/admin/chat-logs/<int:log_id>", 401, 403, 403, 200),
    ("GET", "api/user/chat-logs", 401, 200, 200, 200),
    ("GET", "api/user/chat-logs/<int:log_id>", 401, 200, 404, 404),
    ("GET", "api/user/usage", 401, 200, 200, 200),
    ("POST", "api/orchestrate/synthesize", 401, 400, 400, 400),
    ("GET", "", 302, 302, 302, 302),
    ("GET", "login/", 200, 200, 200, 200),
    ("POST", "logout/", 302, 302, 302, 302),
    ("GET", "register/", 403, 403, 403, 403),  # closed by default: an invite opens it
    ("GET", "device/", 302, 200, 200, 200),
    ("GET", "settings/", 302, 200, 200, 200),
    ("GET", "settings/password/", 302, 200, 200, 200),
    ("POST", "settings/api-key/", 302, 302, 302, 302),
    ("POST", "settings/api-key/delete/", 302, 302, 302, 302),
    ("POST", "settings/keys/", 302, 302, 302, 302),
    ("POST", "settings/keys/<int:key_id>/toggle/", 302, 302, 404, 404),
    ("POST", "settings/keys/<int:key_id>/cache-ttl/", 302, 302, 404, 404),
    ("POST", "settings/keys/<int:key_id>/delete/", 302, 302, 404, 404),
    ("POST", "settings/models/<int:model_pk>/toggle/", 302, 302, 302, 302),
    ("GET", "usage/", 302, 200, 200, 200),
    ("GET", "playground/", 302, 200, 200, 200),
    ("GET", "agent/", 302, 200, 200, 200),
    ("GET", "orchestrator/", 302, 200, 200, 200),
    ("GET", "favicon.ico", 200, 200, 200, 200),
    ("POST", "playground/new/", 302, 400, 400, 400),
    ("GET", "playground/<int:conversation_id>/", 302, 200, 404, 404),
    ("POST", "playground/<int:conversation_id>/send/", 302, 400, 404, 404),
    ("POST", "playground/<int:conversation_id>/settings/", 302, 302, 404, 404),
    ("POST", "playground/<int:conversation_id>/delete/", 302, 302, 404, 404),
    ("GET", "console/", 302, 403, 403, 200),
    ("POST", "console/cache/clear", 302, 403, 403, 302),
    ("GET", "console/logs/", 302, 403, 403, 200),
    ("GET", "console/logs/<int:log_id>/", 302, 403, 403, 200),
    ("GET", "console/models/", 302, 403, 403, 200),
    ("POST", "console/models/sync", 302, 403, 403, 302),
    ("POST", "console/models/<int:model_pk>/toggle", 302, 403, 403, 302),
    ("POST", "console/models/bulk", 302, 403, 403, 400),
    ("POST", "console/models/providers", 302, 403, 403, 400),
    ("POST", "console/models/aliases", 302, 403, 403, 400),
    ("POST", "console/models/aliases/delete", 302, 403, 403, 400),
    ("POST", "console/models/presets", 302, 403, 403, 400),
    ("POST", "console/models/presets/delete", 302, 403, 403, 400),
    ("POST", "console/models/limits", 302, 403, 403, 302),
    ("POST", "console/models/limits/clear", 302, 403, 403, 302),
    ("GET", "console/users/", 302, 403, 403, 200),
    ("POST", "console/users/invite", 302, 403, 403, 200),
    ("POST", "console/users/<int:user_id>/role", 302, 403, 403, 302),
    ("POST", "console/users/<int:user_id>/active", 302, 403, 403, 302),
    ("POST", "console/users/<int:user_id>/credits", 302, 403, 403, 302),
    ("GET", "console/upstream-keys/", 302, 403, 403, 200),
    ("POST", "console/upstream-keys/add", 302, 403, 403, 302),
    ("POST", "console/upstream-keys/import", 302, 403, 403, 302),
    ("POST", "console/upstream-keys/<int:upstream_key_id>/limits", 302, 403, 403, 302),
    ("POST", "console/upstream-keys/<int:pool_key_id>/enabled", 302, 403, 403, 400),
    ("POST", "console/upstream-keys/<int:pool_key_id>/test", 302, 403, 403, 302),
    ("POST", "console/upstream-keys/<int:pool_key_id>/delete", 302, 403, 403, 302),
    ("POST", "api/conversations/<int:conversation_id>/messages/stream", 401, 400, 404, 404),
    ("GET", "api/admin/traces/stream", 401, 403, 403, 200),
    ("GET", "api/traces/stream", 401, 200, 200, 200),
    ("GET", "api/traces/<str:request_id>", 401, 200, 404, 200),
    ("GET", "console/live/", 302, 403, 403, 200),
    ("GET", "usage/live/", 302, 200, 200, 200),
    ("POST", "api/agent/chat", 401, 400, 400, 400),
    ("POST", "api/orchestrate/stream", 401, 400, 400, 400),
    ("POST", "api/orchestrate/synthesize/stream", 401, 400, 400, 400),
    ("POST", "/v1/chat/completions", 401, 200, 200, 200),
    ("POST", "/api/chat/completions", 401, 200, 200, 200),
    ("POST", "/v1/messages", 401, 200, 200, 200),
    ("POST", "/v1/messages/count_tokens", 401, 200, 200, 200),
    ("GET", "/v1/models", 401, 200, 200, 200),
    ("GET", "/v1/models/{id}", 401, 200, 200, 200),
    ("GET", "/v1/{upstream_path}", 401, 200, 200, 200),
    ("POST", "/v1/responses", 401, 200, 200, 200),
    ("GET", "/v1/responses/{response_id}", 401, 200, 404, 404),  # the owner's only; others are told it does not exist
    ("POST", "/v1/completions", 401, 200, 200, 200),
    ("POST", "/v1/embeddings", 401, 200, 200, 200),
)


def _kind(route: str) -> str:
    if route.startswith("/"):
        return "v1"
    if route in authz.asgi_routes():
        return "asgi"
    return "sse" if route in authz.sse_routes() else "django"


def test_every_route_has_a_row_and_every_row_a_route():
    served = all_routes(V1_ROUTES)
    tabled = {Route(_kind(route), route) for _, route, *_ in MATRIX}
    assert sorted(r.route for r in served - tabled) == [], "routes without a row in MATRIX"
    assert sorted(r.route for r in tabled - served) == [], "rows of MATRIX without a route"


def test_each_caller_gets_the_status_of_its_role(gateway):
    shared = build_shared()
    wrong = []
    for method, route, *statuses in MATRIX:
        expected = dict(zip(ROLES, statuses, strict=True))
        world = build_world(gateway.url, shared)  # fresh accounts: no row sees another row's changes
        path = fill(route, world.params)
        got = {}
        # The owner goes after the other user (the object still exists when it is refused to them),
        # the admin last (an admin action on the owner must not change the owner's answer).
        for role in ("anonymous", "other", "user", "admin"):
            headers, cookies = credentials(_kind(route), path, role, world)
            response = send(gateway.url, method, _kind(route), path, headers, cookies)
            assert "Traceback" not in response.text, f"{method} {path} as {role}"
            got[role] = response.status_code
        if got != expected:
            wrong.append(f"{method} {route}: expected {statuses}, got {[got[r] for r in ROLES]}")
    assert wrong == [], "\n".join(wrong)
