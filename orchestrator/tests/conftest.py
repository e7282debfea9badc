"""The orchestrator's tests share the agent's ``user`` fixture."""

from agent.tests.conftest import bearer, user  # noqa: F401
