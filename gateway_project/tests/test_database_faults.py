"""PostgreSQL stopped and restarted under a running gateway: 503 where the database is needed, no crash,
and the request-log rows buffered while it was down are written once it is back.

The cluster is this test's own (initdb in a temp dir, a free port); the shared server is never touched.
"""

import os
import subprocess
import sys

import httpx
import pytest

from testing.servers import ROOT, wait_until
from testing.services import PrivatePostgres

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
DOWN_REQUESTS = 5

# Run by manage.py shell in the private database: a user, a gateway key, the free models.
_SEED = """
from testing.factories import make_key, make_user, sync_catalog
from rest_framework_simplejwt.tokens import RefreshToken
sync_catalog()
user = make_user(email="pg-fault@example.com")
print(make_key(user), RefreshToken.for_user(user).access_token)
"""


@pytest.fixture
def private_postgres():
    server = PrivatePostgres().init()
    yield server
    server.destroy()


def _log_rows(server: PrivatePostgres) -> int:
    with server.connect() as conn:
        return conn.execute("SELECT count(*) FROM chat_requestlog").fetchone()[0]


def _chat(url: str, secret: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"},
                      json={"model": LLAMA, "messages": [{"role": "user", "content": "hi"}]}, timeout=30)


def test_postgres_down_gives_503_where_needed_and_buffered_log_rows_are_written_after(
        gateway_process_factory, private_postgres, sim):
    seeded = subprocess.run([sys.executable, "manage.py", "shell", "-c", _SEED], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "DATABASE_URL": private_postgres.url})
    assert seeded.returncode == 0, seeded.stderr
    secret, jwt = seeded.stdout.split()[-2:]
    # Caches long enough that the hot path needs no query while the database is down.
    proc = gateway_process_factory(DATABASE_URL=private_postgres.url, GATEWAY_AUTH_CACHE_TTL="120",
                                   GATEWAY_CATALOG_CACHE_TTL="120")
    assert _chat(proc.url, secret).status_code == 200
    wait_until(lambda: _log_rows(private_postgres) == 1, timeout=10)

    private_postgres.stop()
    statuses = [_chat(proc.url, secret).status_code for _ in range(DOWN_REQUESTS)]
    me = httpx.get(f"{proc.url}/api/auth/me", headers={"Authorization": f"Bearer {jwt}"}, timeout=30)
    page = httpx.get(f"{proc.url}/login/", timeout=30)
    ready = httpx.get(f"{proc.url}/health/ready", timeout=30)
    assert proc.proc.poll() is None, "the gateway crashed"
    private_postgres.start()

    assert statuses == [200] * DOWN_REQUESTS
    assert me.status_code == 503, me.text
    assert "Traceback" not in me.text
    assert page.status_code in (200, 503), page.text  # the login form itself needs no query
    assert ready.status_code == 503
    assert ready.json()["dependencies"]["database"] == "down"
    # Nothing was lost: every request answered while the database was down has its row.
    wait_until(lambda: _log_rows(private_postgres) == 1 + DOWN_REQUESTS, timeout=30, interval=0.2)
    # And the database serves again without a gateway restart.
    assert wait_until(lambda: httpx.get(f"{proc.url}/api/auth/me", headers={"Authorization": f"Bearer {jwt}"},
                                        timeout=30).status_code == 200, timeout=20, interval=0.3)
    assert httpx.get(f"{proc.url}/health/ready", timeout=30).status_code == 200
