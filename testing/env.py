"""A pytest plugin loaded with ``-p testing.env``, before Django is set up.

It gives the suite its environment: PostgreSQL and Redis on loopback (the real
deployment's stores), strong throw-away secrets with DEBUG off, a free port for
the OpenRouter simulator, and a server key pool. Variables already set win, so
CI or a developer can point the suite elsewhere. The checkout's ``.env`` file
(which ``make run`` writes) is turned off, for this process and every server it
starts: the suite runs the same in a developer's checkout as in CI. When
PostgreSQL or Redis is unreachable the run stops with a message; nothing is
skipped.
"""

from __future__ import annotations

import os
import secrets
import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


SIM_PORT = free_port()
POOL_KEYS = ["sk-or-pool-key-aaaa1111", "sk-or-pool-key-bbbb2222"]

_defaults = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "JWT_SECRET": secrets.token_urlsafe(48),
    "ENCRYPTION_MASTER_KEY": secrets.token_hex(32),
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/gateway",
    "REDIS_URL": f"redis://127.0.0.1:6379/{10 + _worker_index() % 6}",
    "OPENROUTER_BASE_URL": f"http://127.0.0.1:{SIM_PORT}/api/v1",
    "OPENROUTER_API_KEYS": ",".join(POOL_KEYS),
    "GATEWAY_LOG_FLUSH_INTERVAL": "0.05",
    "GATEWAY_UPSTREAM_TIMEOUT": "5",
    "GATEWAY_REQUEST_DEADLINE": "20",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    # The suite talks plain HTTP on loopback, where a client drops Secure cookies; the production
    # default (Secure with DEBUG off) is proven by gateway_project/tests/test_security_settings.py.
    "GATEWAY_SECURE_COOKIES": "0",
    # Tests send more requests per pool account than the free tier's 20 a minute; the tests of the known
    # limits (chat/tests/test_known_limits.py) set them. The defaults are proven in test_config.
    "OPENROUTER_FREE_RPM": "100000",
    "OPENROUTER_FREE_RPD": "10000000",
}
for _name, _value in _defaults.items():
    os.environ.setdefault(_name, _value)
os.environ["GATEWAY_ENV_FILE"] = ""  # never the developer's .env (gateway_project.config.environment)
os.environ["DJANGO_SETTINGS_MODULE"] = "gateway_project.settings"


def _check_services() -> str | None:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    import redis

    server = urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path="/postgres"))
    try:
        with psycopg.connect(server, connect_timeout=3):
            pass
    except Exception as exc:
        return f"PostgreSQL is unreachable at {os.environ['DATABASE_URL']}: {exc}. Start it (see README) and retry."
    try:
        redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=3).ping()
    except Exception as exc:
        return f"Redis is unreachable at {os.environ['REDIS_URL']}: {exc}. Start it (see README) and retry."
    return None


def pytest_configure(config) -> None:
    problem = _check_services()
    if problem:
        import pytest

        pytest.exit(problem, returncode=3)
