"""Fixtures of the agent's and the orchestrator's tests."""

from __future__ import annotations

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from chat.logbuffer import log_buffer
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
    """Return the ``Authorization`` header of a fresh access token for a user."""

    def headers(user) -> dict[str, str]:
        return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}

    return headers
