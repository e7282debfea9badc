"""Fixtures of the agent's and the orchestrator's tests."""

from __future__ import annotations

import pytest

from chat.logbuffer import log_buffer
from testing.browser import jwt_headers
from testing.factories import make_user, sync_catalog
from testing.servers import wait_until


@pytest.fixture
def user(gateway):
    """A user with the free models enabled; the test's request-log rows are written before the database resets."""
    sync_catalog()
    yield make_user()
    wait_until(lambda: len(log_buffer()) == 0)


@pytest.fixture
def bearer():
    """Return ``jwt_headers``: the ``Authorization`` header of a fresh access token for a user."""
    return jwt_headers
