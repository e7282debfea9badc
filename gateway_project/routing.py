"""Route one ASGI scope to the proxy, an SSE consumer or Django."""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter

from chat import metrics_endpoint
from chat.proxy.app import ProxyApp
from chat.proxy.paths import belongs_to_proxy
from gateway_project.bodylimit import BodyLimit
from gateway_project.forwarded import ForwardedMiddleware
from gateway_project.lifespan import Lifespan

# Routes served here, outside Django and the /v1 app (the authorization matrix lists them too).
ASGI_ROUTES = (metrics_endpoint.PATH,)


def sse_urlpatterns() -> list:
    """Every app's Channels HTTP consumers (the SSE endpoints), as ``path()`` without a leading slash."""
    from agent.routing import http_urlpatterns as agent_routes
    from chat.routing import http_urlpatterns as chat_routes
    from orchestrator.routing import http_urlpatterns as orchestrator_routes

    return [*chat_routes, *agent_routes, *orchestrator_routes]


def build_application(django_app):
    """Return the root ASGI callable around ``django_app``.

    Every request passes ``ForwardedMiddleware`` first: the client address and
    scheme everything after it sees are the ones a trusted proxy reports.
    """
    proxy = ProxyApp()
    lifespan = Lifespan(proxy)
    routes = sse_urlpatterns()
    sse_app = BodyLimit(AuthMiddlewareStack(URLRouter(routes)))
    pages_app = BodyLimit(django_app)

    def is_sse(route: str, method: str) -> bool:
        tail = route.lstrip("/")
        return any(p.pattern.match(tail) and method in p.callback.consumer_class.methods for p in routes)

    async def application(scope, receive, send):
        if scope["type"] == "http":
            route = scope["path"]
            if belongs_to_proxy(route):
                await proxy(scope, receive, send)
            elif route == metrics_endpoint.PATH:
                await metrics_endpoint.serve_metrics(scope, receive, send)
            elif is_sse(route, scope["method"]):
                await sse_app(scope, receive, send)
            else:
                await pages_app(scope, receive, send)
        elif scope["type"] == "lifespan":
            await lifespan(scope, receive, send)

    return ForwardedMiddleware(application)
