"""``seed`` and ``sync_models`` create aliases for the model names clients hard-code, never touching an admin's."""

from __future__ import annotations

import io

from django.core.management import call_command

from models_catalog.default_aliases import DEFAULT_ALIASES
from models_catalog.models import Alias, CatalogModel
from models_catalog.services import alias_set
from testing.browser import csrf_form
from testing.factories import anthropic_client, make_key, make_user, openai_client, sync_catalog

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
QWEN = "qwen/qwen3-coder:free"
MISTRAL = "mistralai/mistral-small-3.2-24b-instruct:free"


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_seed_points_the_hard_coded_names_at_free_models_and_keeps_an_admins_alias(gateway, admin_http):
    sync_catalog()
    alias_set(alias="gpt-4o", model_id=MISTRAL)  # the admin's own
    out = _run("seed")
    names = set(DEFAULT_ALIASES) - {"gpt-4o"}
    assert f"default aliases created: {', '.join(n for n in DEFAULT_ALIASES if n in names)}" in out
    mine = Alias.objects.get(alias="gpt-4o")
    assert (mine.model_id, mine.fallbacks) == (MISTRAL, [])
    free = set(CatalogModel.objects.filter(free=True).values_list("model_id", flat=True))
    for alias in Alias.objects.filter(alias__in=names):
        assert len(alias.fallbacks) == 2 and {alias.model_id, *alias.fallbacks} <= free, alias.alias
    assert Alias.objects.get(alias="gpt-4").model_id == LLAMA
    assert Alias.objects.get(alias="claude-sonnet-4").model_id == QWEN
    assert Alias.objects.get(alias="gpt-4o-mini").model_id == MISTRAL

    secret = make_key(make_user())
    answer = openai_client(gateway.url, secret).chat.completions.create(
        model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content.startswith(f"Hello from {MISTRAL}.")
    message = anthropic_client(gateway.url, secret).messages.create(
        model="claude-3-5-haiku-latest", max_tokens=20, messages=[{"role": "user", "content": "hi"}])
    assert message.model == MISTRAL

    page = admin_http.get("/console/models/").text  # listed and editable in the console like any alias
    assert "<code>claude-sonnet-4</code>" in page and "<code>gpt-5-mini</code>" in page
    r = admin_http.post("/console/models/aliases", headers={"HX-Request": "true"},
                        data=csrf_form(admin_http, alias="gpt-5", model_id=QWEN, fallbacks=""))
    assert r.status_code == 200 and Alias.objects.get(alias="gpt-5").model_id == QWEN
    assert "default aliases created" not in _run("seed")  # a second run changes nothing
    assert Alias.objects.get(alias="gpt-5").model_id == QWEN


def test_before_the_first_sync_seed_makes_none_and_sync_models_makes_them(gateway):
    assert "default aliases" not in _run("seed")
    assert not Alias.objects.exists()
    out = _run("sync_models", "--enable-free")
    assert "default aliases created: gpt-4o," in out
    assert set(Alias.objects.values_list("alias", flat=True)) == set(DEFAULT_ALIASES)
