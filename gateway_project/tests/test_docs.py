"""docs/api.md and the README stay true: every route, variable and command the code has is named, nothing else."""

from __future__ import annotations

import re

from django.core.management import get_commands, load_command_class
from django.core.management.base import BaseCommand
from django.urls import Resolver404, resolve

from chat.proxy.paths import CHAT_API_PATH, V1_ROUTES
from gateway_project.routing import ASGI_ROUTES, sse_urlpatterns
from testing.authz import asgi_routes, django_routes, sse_routes
from testing.servers import ROOT

API_DOC = (ROOT / "docs" / "api.md").read_text()
README = (ROOT / "README.md").read_text()
OUR_APPS = {"accounts", "models_catalog", "chat", "agent", "orchestrator", "gateway_project"}
PROXY_PATHS = [r.template for r in V1_ROUTES if r.name != "passthrough"]


def _as_documented(route: str) -> re.Pattern:
    """``api/user/keys/<int:key_id>`` -> a pattern matching ``/api/user/keys/{id}`` (any placeholder name)."""
    parts = re.split(r"<[^>]+>", route)
    return re.compile("`[A-Z]* ?/" + r"\{[a-z_]+\}".join(re.escape(p) for p in parts) + r"[`?]")


def _documented_gateway_paths() -> set[str]:
    """Every path api.md names in backticks (``/x``, ``GET /x``), the /v1 ones and the simulator's aside."""
    gateway_part = API_DOC.split("\n## The simulator", 1)[0]  # the simulator's own /api/v1 is not ours
    paths = set(re.findall(r"`(?:[A-Z]+ )?(/[A-Za-z0-9_/{}.-]*)", gateway_part))
    return {p for p in paths if not p.lstrip("/").startswith("v1")}


def test_every_rest_sse_and_health_route_is_in_api_md():
    routes = [r for r in django_routes() if r.startswith(("api/", "health/"))]
    routes += sse_routes() + asgi_routes()
    assert len(routes) > 40
    missing = [r for r in routes if not _as_documented(r).search(API_DOC)]
    assert missing == []


def test_every_page_rest_and_health_path_api_md_names_exists():
    sse = sse_urlpatterns()
    absent = []
    for path in sorted(_documented_gateway_paths()):
        concrete = re.sub(r"\{[a-z_]+\}", "1", path)
        if path == CHAT_API_PATH or path in ASGI_ROUTES or any(p.pattern.match(concrete.lstrip("/")) for p in sse):
            continue
        try:
            resolve(concrete)
        except Resolver404:
            absent.append(path)
    assert len(_documented_gateway_paths()) > 50
    assert absent == []


def test_the_v1_paths_the_proxy_serves_itself_are_in_api_md():
    for path in PROXY_PATHS:
        assert f"`{path}`" in API_DOC or f"`POST {path}`" in API_DOC or f"`GET {path}`" in API_DOC, path


def test_api_md_lists_exactly_the_variables_env_example_documents():
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    table = "\n".join(line for line in API_DOC.splitlines() if line.startswith("| `"))
    in_table = set(re.findall(r"`([A-Z][A-Z0-9_]{3,})`", table))
    assert len(documented) >= 30
    assert documented - in_table == set()
    assert in_table - documented == set()


def test_every_management_command_and_its_options_are_in_api_md():
    base_options = {s for a in BaseCommand().create_parser("manage.py", "x")._actions for s in a.option_strings}
    ours = {name: app for name, app in get_commands().items() if app.split(".")[0] in OUR_APPS}
    assert {"seed", "sync_models", "create_api_key", "simulate_openrouter", "rotate_encryption_key"} <= set(ours)
    for name, app in ours.items():
        assert f"python manage.py {name}" in API_DOC, name
        parser = load_command_class(app, name).create_parser("manage.py", name)
        for action in parser._actions:
            for option in set(action.option_strings) - base_options:
                assert f"{option}" in API_DOC.split(f"python manage.py {name}", 1)[1].split("\n- ", 1)[0], (name, option)


def test_readme_links_only_to_files_in_the_repository_and_to_both_references():
    targets = re.findall(r"\]\(([^)\s]+)\)", README)
    assert "docs/api.md" in targets and "docs/architecture.md" in targets
    for target in targets:
        assert not re.match(r"[a-z]+:", target), f"README links outside the repository: {target}"
        assert (ROOT / target.split("#", 1)[0]).exists(), target
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", README)
