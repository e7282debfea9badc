"""The published OpenAPI schema of the management API, fuzzed with schemathesis over real loopback HTTP.

Every operation gets generated requests that fit the schema and requests that do not, as a
user and as an admin: never a 500, never a traceback, and every answer as the schema says
(documented status, content type, and for errors the ``{"message", "extra"}`` shape).
"""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from testing.browser import jwt_headers
from testing.factories import make_key, make_user

EXAMPLES_PER_OPERATION = 8  # per role and mode: about 1,800 requests, a couple of minutes on two cores
LOGOUT = "/api/auth/logout"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def no_traceback(ctx, response, case) -> None:
    """No answer carries a Python traceback or a Django debug page."""
    text = response.text or ""
    assert "Traceback (most recent call last)" not in text and "django.core" not in text, text[:500]


def _fuzz_operation(operation, mode: GenerationMode, base_url: str, headers: dict[str, str]) -> list[str]:
    """Run one operation's generated cases in ``mode``; return one line per failed case."""
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=60)
        try:
            case.validate_response(response, checks=CHECKS, additional_checks=[no_traceback])
        except (AssertionError, BaseExceptionGroup) as exc:  # a Failure, or a FailureGroup of several
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            failures.append(f"{operation.label} ({mode}) -> {response.status_code}: {first_line} "
                            f"| {case.method} {case.formatted_path} {case.query!r} {case.body!r:.200} "
                            f"| {response.text[:200]!r}")

    try:
        run()
    except Unsatisfiable:
        assert mode == GenerationMode.NEGATIVE, operation.label  # no input at all: nothing can be made invalid
    return failures


def _fuzz(schema, base_url: str, headers: dict[str, str]) -> list[str]:
    """Every operation, in both modes; return the failed cases (empty: all passed)."""
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    # Logout ends every token of the caller: fuzzed last, so it does not turn the rest into 401s.
    operations.sort(key=lambda operation: operation.path == LOGOUT)
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _fuzz_operation(operation, mode, base_url, headers)
    return failures


def test_the_schema_is_published_to_signed_in_users_and_holds_no_secret(gateway, http):
    user = make_user()
    secret = make_key(user, name="in-the-schema?")
    assert http.get(f"{gateway.url}/api/schema/").status_code == 401
    r = http.get(f"{gateway.url}/api/schema/?format=json", headers=jwt_headers(user))
    assert r.status_code == 200, r.text
    schema = r.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/admin/keys/{key_id}" in schema["paths"]
    assert schema["paths"]["/api/admin/keys/{key_id}"]["patch"]["requestBody"]
    assert secret not in r.text and user.email not in r.text


def test_fuzzing_every_operation_as_a_user_and_as_an_admin_finds_no_server_error(gateway, http):
    user, admin = make_user(), make_user(admin=True)
    make_key(user, name="fuzzed")
    raw = http.get(f"{gateway.url}/api/schema/?format=json", headers=jwt_headers(admin)).json()
    schema = schemathesis.openapi.from_dict(raw)
    failures = []
    for person in (user, admin):  # the user first: the admin's fuzzing may disable the user
        failures += _fuzz(schema, gateway.url, jwt_headers(person))
    assert failures == []
    assert httpx.get(f"{gateway.url}/health/live").status_code == 200
