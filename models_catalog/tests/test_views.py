"""Admin console models page over real HTTP: sync, toggles, health, providers, aliases, presets, usage limits.

Every form: anonymous visitors go to log in, users get 403, a post without the
CSRF token gets 403, bad input gets 400 with the reason and writes nothing, the
good case changes the database and the page. htmx posts get their section back.
"""

from __future__ import annotations

from contextlib import closing

import httpx
import openai
import pytest

from accounts import crypto
from models_catalog.models import Alias, CatalogModel, Preset, Provider, UsageLimit
from testing.browser import csrf_form, session_client
from testing.factories import make_key, make_user, sync_catalog

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
QWEN = "qwen/qwen3-coder:free"
HTMX = {"HX-Request": "true"}
PROVIDER_KEY = "sk-prov-secret-4321"

FORMS = {
    "/console/models/sync": {},
    "/console/models/{model}/toggle": {"enabled": "true"},
    "/console/models/providers": {"slug": "x", "name": "X", "kind": "openai", "base_url": "https://x.example/v1",
                                  "api_key": PROVIDER_KEY},
    "/console/models/aliases": {"alias": "fast", "model_id": LLAMA},
    "/console/models/aliases/delete": {"alias": "kept"},
    "/console/models/presets": {"name": "coder", "model_id": QWEN},
    "/console/models/presets/delete": {"name": "kept"},
    "/console/models/limits": {"model_id": "", "max_requests_per_day": "5"},
    "/console/models/limits/clear": {"model_id": ""},
}


@pytest.fixture
def catalog(gateway):
    """The simulator's catalog with every free model enabled, an alias and a preset named "kept", a default limit."""
    from models_catalog import services

    sync_catalog()
    services.alias_set(alias="kept", model_id=LLAMA)
    services.preset_set(name="kept", model_id=QWEN)
    services.usage_limit_set(model=None, max_requests_per_day=100, max_tokens_per_day=None)
    return CatalogModel.objects


def _state() -> tuple:
    return (list(CatalogModel.objects.values_list("model_id", "enabled")), list(Provider.objects.values_list("slug")),
            list(Alias.objects.values_list("alias", "model_id", "fallbacks")),
            list(Preset.objects.values_list("name", "model_id", "params")),
            list(UsageLimit.objects.values_list("model_id", "max_requests_per_day", "max_tokens_per_day")))


def _post(client: httpx.Client, path: str, *, htmx: bool = True, **fields) -> httpx.Response:
    return client.post(path, data=csrf_form(client, **fields), headers=HTMX if htmx else {})


# ---------------------------------------------------------------- who may post


@pytest.mark.parametrize("form", list(FORMS))
def test_every_form_sends_visitors_to_log_in_refuses_users_and_needs_csrf(catalog, admin_http, gateway, form):
    path, fields = form.format(model=CatalogModel.objects.get(model_id=QWEN).pk), FORMS[form]
    before = _state()
    with httpx.Client(base_url=gateway.url, timeout=30) as anonymous:
        anonymous.get("/login/")
        r = anonymous.post(path, data=csrf_form(anonymous, **fields))
        assert r.status_code == 302 and r.headers["location"] == f"/login/?next={path}"
    with closing(session_client(gateway.url, make_user())) as user:
        assert user.post(path, data=csrf_form(user, **fields), headers=HTMX).status_code == 403
    refused = admin_http.post(path, data=fields, headers=HTMX)
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert _state() == before


def test_every_form_on_the_page_carries_the_csrf_token_and_a_real_action(catalog, admin_http):
    page = admin_http.get("/console/models/").text
    assert page.count('method="post"') == page.count('name="csrfmiddlewaretoken"') > 10
    assert 'hx-post="/console/models/aliases"' in page
    assert 'action="/console/models/aliases"' in page  # the plain form still works without htmx


# ---------------------------------------------------------------- sync and providers


def test_sync_now_fills_the_catalog_and_shows_the_providers_last_sync(gateway, sim, admin_http):
    assert "No models yet" in admin_http.get("/console/models/").text
    r = admin_http.post("/console/models/sync", data=csrf_form(admin_http))
    assert r.status_code == 302 and r.headers["location"] == "/console/models/"
    added = CatalogModel.objects.count()
    assert added > 3 and not CatalogModel.objects.filter(enabled=True).exists()  # new models wait for review
    page = admin_http.get("/console/models/").text
    assert f"Synced: {added} added, 0 updated" in page
    assert f">{LLAMA}</a>" in page and f"{added} models" in page
    provider = Provider.objects.get(slug="openrouter")
    assert provider.last_sync_at.strftime("%Y-%m-%d %H:%M:%S") in page
    assert f"{added} added, 0 updated, 0 disabled" in page

    sim.configure(models_fault=500)
    admin_http.post("/console/models/sync", data=csrf_form(admin_http))
    page = admin_http.get("/console/models/").text
    assert "Sync failed; the catalog is unchanged" in page
    assert 'data-testid="last-sync-error">Last sync failed:' in page and "answered HTTP 500" in page
    assert CatalogModel.objects.count() == added


def test_admin_adds_an_anthropic_provider_whose_key_is_never_shown_and_syncs_it(gateway, sim, admin_http):
    r = _post(admin_http, "/console/models/providers", slug="claude", name="Claude", kind="anthropic",
              base_url=f"{sim.root}/anthropic/v1", api_key=PROVIDER_KEY)
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section class="card" id="providers"')  # the section alone, for htmx
    assert "Provider claude added" in r.text and "<code>…4321</code>" in r.text
    stored = Provider.objects.get(slug="claude")
    assert stored.kind == "anthropic" and crypto.decrypt(stored.api_key_encrypted) == PROVIDER_KEY

    r = admin_http.post("/console/models/sync", data=csrf_form(admin_http, provider="claude"))
    assert r.status_code == 302
    page = admin_http.get("/console/models/").text
    assert "Synced: 2 added" in page and ">claude-haiku-4-5</a>" in page
    assert PROVIDER_KEY not in page and PROVIDER_KEY[:-4] not in page


def test_bad_provider_input_is_refused_with_the_reason_and_the_key_is_not_echoed(catalog, admin_http):
    r = _post(admin_http, "/console/models/providers", slug="groq", name="Groq", kind="openai",
              base_url="not a url", api_key=PROVIDER_KEY)
    assert r.status_code == 400 and "Base URL: Enter a valid URL." in r.text
    assert 'value="groq"' in r.text and PROVIDER_KEY not in r.text
    r = _post(admin_http, "/console/models/providers", slug="openrouter", name="Again", kind="openai",
              base_url="https://x.example/v1", api_key=PROVIDER_KEY)
    assert r.status_code == 400 and "a provider named &#x27;openrouter&#x27; exists" in r.text
    r = _post(admin_http, "/console/models/providers", slug="y", name="Y", kind="openrouter",
              base_url="https://x.example/v1", htmx=False)
    assert r.status_code == 400 and "Kind: Select a valid choice." in r.text and "<h1>Models</h1>" in r.text
    assert list(Provider.objects.values_list("slug", flat=True)) == ["openrouter"]


# ---------------------------------------------------------------- models: toggle and health


def test_admin_enables_a_model_and_only_its_row_comes_back(gateway, admin_http):
    sync_catalog(LLAMA)
    model = CatalogModel.objects.get(model_id=QWEN)
    r = _post(admin_http, f"/console/models/{model.pk}/toggle", enabled="true")
    assert r.status_code == 200 and r.text.strip().startswith(f'<tr id="model-{model.pk}"')
    assert 'data-testid="state">enabled<' in r.text and f"Disable<span class=\"visually-hidden\"> {QWEN}" in r.text
    model.refresh_from_db()
    assert model.enabled and model.disabled_reason == ""

    r = _post(admin_http, f"/console/models/{model.pk}/toggle", enabled="false", htmx=False)
    assert r.status_code == 302
    assert f"{QWEN} is disabled." in admin_http.get("/console/models/").text
    model.refresh_from_db()
    assert not model.enabled and model.disabled_reason == "disabled by an admin"


def test_a_toggle_without_a_clear_state_is_refused(gateway, admin_http):
    sync_catalog(LLAMA)
    model = CatalogModel.objects.get(model_id=LLAMA)
    r = _post(admin_http, f"/console/models/{model.pk}/toggle", enabled="maybe")
    assert r.status_code == 400 and "Say enabled=true or enabled=false." in r.text
    assert CatalogModel.objects.get(pk=model.pk).enabled
    assert _post(admin_http, "/console/models/999999/toggle", enabled="true").status_code == 404


def test_the_page_shows_each_models_health_from_real_traffic(gateway, admin_http):
    sync_catalog(LLAMA, QWEN)
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=make_key(make_user()), max_retries=0)
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    client.chat.completions.create(model=LLAMA, messages=[{"role": "user", "content": "hi"}], tools=tools)
    list(client.chat.completions.create(model=LLAMA, stream=True, messages=[{"role": "user", "content": "hi"}]))
    client.chat.completions.create(model=QWEN, messages=[{"role": "user", "content": "hi"}],
                                   extra_body={"sim": {"fault": "429_provider:30", "times": 1, "id": "console"}})
    page = admin_http.get("/console/models/", params={"show": "enabled"}).text
    llama = page[page.index(f'data-testid="model-{LLAMA}"'):]
    llama = llama[:llama.index("</tr>")]
    assert 'data-testid="success">100% <small class="muted">of 2</small>' in llama
    assert " ms</td>" in llama.split('data-testid="latency">')[1] and " ms</td>" in llama.split('data-testid="ttft">')[1]
    assert 'data-testid="tools-seen">works<' in llama and 'data-testid="rate-limit">—<' in llama
    qwen = page[page.index(f'data-testid="model-{QWEN}"'):]
    qwen = qwen[:qwen.index("</tr>")]
    assert 'data-testid="success">50% <small class="muted">of 2</small>' in qwen
    assert '<small class="error">lifts ' in qwen and 'data-testid="tools-seen">not seen<' in qwen


# ---------------------------------------------------------------- aliases and presets


def test_admin_adds_replaces_and_deletes_an_alias(catalog, admin_http):
    r = _post(admin_http, "/console/models/aliases", alias="fast", model_id=LLAMA, fallbacks=f"{QWEN}, {LLAMA}")
    assert r.status_code == 200 and r.text.lstrip().startswith('<section class="card" id="aliases"')
    assert "Alias fast saved." in r.text and f"{LLAMA} → {QWEN}" in r.text
    assert Alias.objects.get(alias="fast").fallbacks == [QWEN]

    r = _post(admin_http, "/console/models/aliases", alias="fast", model_id=QWEN, fallbacks="")
    assert r.status_code == 200 and "<code>fast</code></td><td>" + QWEN + "</td>" in r.text
    assert Alias.objects.get(alias="fast").model_id == QWEN and Alias.objects.count() == 2

    r = _post(admin_http, "/console/models/aliases/delete", alias="fast")
    assert r.status_code == 200 and "Alias fast deleted." in r.text and "<code>fast</code>" not in r.text
    assert list(Alias.objects.values_list("alias", flat=True)) == ["kept"]


def test_admin_sets_the_strategy_of_an_alias_and_a_preset(catalog, admin_http):
    r = _post(admin_http, "/console/models/aliases", alias="fast", model_id=LLAMA, fallbacks=QWEN, strategy="fastest")
    assert r.status_code == 200 and '<td data-testid="alias-strategy">fastest</td>' in r.text
    assert Alias.objects.get(alias="fast").strategy == "fastest"
    r = _post(admin_http, "/console/models/presets", name="coder", model_id=QWEN, strategy="cheapest")
    assert r.status_code == 200 and '<td data-testid="preset-strategy">cheapest</td>' in r.text
    assert Preset.objects.get(name="coder").strategy == "cheapest"
    r = _post(admin_http, "/console/models/aliases", alias="fast", model_id=LLAMA, strategy="random")
    assert r.status_code == 400 and "random is not one of the available choices" in r.text
    assert Alias.objects.get(alias="fast").strategy == "fastest"
    page = admin_http.get("/console/models/").text
    assert '<option value="most-available">Most remaining capacity first</option>' in page


def test_bad_alias_input_is_refused_with_the_reason(catalog, admin_http):
    before = _state()
    r = _post(admin_http, "/console/models/aliases", alias="fast", model_id="nope/none")
    assert r.status_code == 400 and "unknown model(s): nope/none" in r.text and 'value="nope/none"' in r.text
    r = _post(admin_http, "/console/models/aliases", alias="", model_id=LLAMA)
    assert r.status_code == 400 and "Alias: This field is required." in r.text
    r = _post(admin_http, "/console/models/aliases", alias=QWEN, model_id=LLAMA, htmx=False)
    assert r.status_code == 400 and "an alias cannot shadow it" in r.text and "<h1>Models</h1>" in r.text
    r = _post(admin_http, "/console/models/aliases/delete", alias="never")
    assert r.status_code == 400 and "No alias &#x27;never&#x27;" in r.text
    assert _state() == before


def test_admin_adds_replaces_and_deletes_a_preset_with_json_params(catalog, admin_http):
    r = _post(admin_http, "/console/models/presets", name="terse", model_id=LLAMA, fallbacks=QWEN,
              params='{"max_tokens": 3, "temperature": 0.2}')
    assert r.status_code == 200 and "Preset @preset/terse saved." in r.text and "<code>@preset/terse</code>" in r.text
    preset = Preset.objects.get(name="terse")
    assert preset.params == {"max_tokens": 3, "temperature": 0.2} and preset.fallbacks == [QWEN]
    r = _post(admin_http, "/console/models/presets", name="terse", model_id=QWEN, params="")
    assert r.status_code == 200 and Preset.objects.get(name="terse").params == {}

    r = _post(admin_http, "/console/models/presets/delete", name="terse", htmx=False)
    assert r.status_code == 302 and r.headers["location"] == "/console/models/#presets"
    assert "Preset @preset/terse deleted." in admin_http.get("/console/models/").text
    assert list(Preset.objects.values_list("name", flat=True)) == ["kept"]


@pytest.mark.parametrize(("params", "message"), [
    ('{"temperature": 0.2', "Parameters: Not valid JSON (Expecting &#x27;,&#x27; delimiter at line 1 column 20)"),
    ("[1, 2]", "Parameters: Must be a JSON object such as {&quot;temperature&quot;: 0.2}, not a list."),
    ('{"messages": []}', "params may not set messages"),
])
def test_bad_preset_params_are_refused_with_a_clear_message(catalog, admin_http, params, message):
    before = _state()
    r = _post(admin_http, "/console/models/presets", name="terse", model_id=LLAMA, params=params)
    assert r.status_code == 400 and message in r.text
    assert 'name="name" required maxlength="100" value="terse"' in r.text  # the form keeps what was typed
    assert _state() == before


# ---------------------------------------------------------------- usage limits


def test_admin_sets_and_clears_the_default_and_a_models_limit(catalog, admin_http):
    r = _post(admin_http, "/console/models/limits", model_id=LLAMA, max_requests_per_day="50",
              max_tokens_per_day="")
    assert r.status_code == 200 and "Limit for " + LLAMA + " saved." in r.text
    assert f"<td>{LLAMA}</td><td>50</td><td>no limit</td>" in r.text
    r = _post(admin_http, "/console/models/limits", model_id="", max_requests_per_day="",
              max_tokens_per_day="20000")
    assert r.status_code == 200 and "<td>every model (default)</td><td>no limit</td><td>20000</td>" in r.text
    assert sorted(UsageLimit.objects.values_list("max_requests_per_day", "max_tokens_per_day"),
                  key=str) == sorted([(50, None), (None, 20000)], key=str)

    r = _post(admin_http, "/console/models/limits/clear", model_id=LLAMA)
    assert r.status_code == 200 and f"Limit for {LLAMA} cleared." in r.text
    assert list(UsageLimit.objects.values_list("model", flat=True)) == [None]
    r = _post(admin_http, "/console/models/limits/clear", model_id="")
    assert r.status_code == 200 and "No limits." in r.text and not UsageLimit.objects.exists()


def test_bad_limit_input_is_refused_with_the_reason(catalog, admin_http):
    before = _state()
    r = _post(admin_http, "/console/models/limits", model_id=LLAMA, max_requests_per_day="lots")
    assert r.status_code == 400 and "Requests per day: Enter a whole number." in r.text
    r = _post(admin_http, "/console/models/limits", model_id="", max_tokens_per_day="-1")
    assert r.status_code == 400 and "Tokens per day: Ensure this value is greater than or equal to 0." in r.text
    r = _post(admin_http, "/console/models/limits", model_id="nope/none", max_requests_per_day="5")
    assert r.status_code == 400 and "Model: no catalog model &#x27;nope/none&#x27;" in r.text
    r = _post(admin_http, "/console/models/limits/clear", model_id=QWEN)
    assert r.status_code == 400 and f"No limit for {QWEN} to clear." in r.text
    assert _state() == before
