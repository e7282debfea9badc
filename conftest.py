"""Fixtures shared by every app's tests (the environment comes from ``testing/env.py``)."""

from __future__ import annotations

import httpx
import pytest

from testing import env
from testing.servers import GatewayProcess, Simulator, ThreadedGateway

pytest_plugins = ["testing.browser"]


@pytest.fixture(scope="session")
def simulator_server():
    sim = Simulator(env.SIM_PORT).start()
    yield sim
    sim.stop()


@pytest.fixture
def sim(simulator_server):
    """The OpenRouter simulator, reset to its defaults for this test."""
    simulator_server.reset()
    return simulator_server


@pytest.fixture(autouse=True)
def _fresh_state():
    """Every test starts with empty caches, limit counters and routing state, and a true clock."""
    from django.core.cache import cache

    from chat.proxy import clock
    from gateway_project import invalidation
    from gateway_project.redis_client import sync_client
    from gateway_project.shared_state import reset_store

    sync_client().flushdb()
    cache.clear()
    invalidation.drop_all_local()  # every cache registered itself with invalidation
    reset_store()
    clock.reset()
    yield
    clock.reset()


@pytest.fixture(scope="session")
def _gateway_server(django_db_setup, django_db_blocker):
    server = ThreadedGateway(env.free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def gateway(_gateway_server, transactional_db, sim):
    """The gateway on real loopback HTTP, with the simulator as its upstream.

    Its log rows are flushed before the test's database is emptied.
    """
    from chat.logbuffer import log_buffer
    from chat.proxy.app import ProxyApp
    from testing.servers import wait_until

    log_buffer().discard()
    yield _gateway_server
    wait_until(lambda: ProxyApp.in_flight == 0, timeout=10)  # requests settle after their answer
    log_buffer().flush_from_thread()


@pytest.fixture
def gateway_process_factory(transactional_db, sim):
    """Start extra gateway processes (uvicorn) sharing this test's PostgreSQL and Redis."""
    from django.db import connection

    started: list[GatewayProcess] = []
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"

    def start(**extra_env: str) -> GatewayProcess:
        proc = GatewayProcess(env.free_port(), {"DATABASE_URL": url, **extra_env}).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def http():
    with httpx.Client(timeout=30) as client:
        yield client
