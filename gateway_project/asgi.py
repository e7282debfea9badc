"""The ASGI application: ``gateway_project.asgi:application``.

``/v1/*`` goes to the proxy (a bare ASGI app, no Django view stack: see
docs/decisions/0001-hot-path.md); the SSE endpoints go to Channels consumers;
everything else to Django. The lifespan owns background work: the request-log
flusher and the cache-invalidation listener start and drain with the server.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

from gateway_project.config import ConfigError, exit_with  # noqa: E402

try:
    django_app = get_asgi_application()
except ConfigError as exc:  # a weak or missing secret: one line naming it, no traceback
    exit_with(exc)

from gateway_project.routing import build_application  # noqa: E402

application = build_application(django_app)
