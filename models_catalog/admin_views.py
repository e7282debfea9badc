"""Admin console page of the catalog: providers and sync, models (toggle, health), aliases, presets, usage limits.

One page, ``console/models.html``, with a named partial per section. A form
posted by htmx gets its section (or its model's row) back; a plain form post
gets the page again. Refused input re-renders the form with the reason and
status 400; every write goes through ``models_catalog.services``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import admin_page
from gateway_project.errors import found
from gateway_project.forms import form_problem
from models_catalog import health, selectors, services
from models_catalog.forms import (
    PROVIDER_KINDS,
    AliasForm,
    PresetForm,
    ProviderForm,
    UsageLimitForm,
)
from models_catalog.health import ModelHealth
from models_catalog.models import CatalogModel, Strategy
from models_catalog.sync import SyncError

MODEL_PAGE_SIZE = 100
TOOLS_OBSERVED = {True: "works", False: "refused", None: "not seen"}


def _problem(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _when(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, tz=UTC) if timestamp else None


def _health_cells(figures: ModelHealth) -> dict:
    """What the model table shows of a model's health ("—" where traffic says nothing yet)."""
    return {
        "samples": figures.samples,
        "success": "—" if figures.success_rate is None else f"{figures.success_rate * 100:.0f}%",
        "latency": "—" if figures.p50_latency_ms is None else f"{figures.p50_latency_ms} ms",
        "ttft": "—" if figures.p50_ttft_ms is None else f"{figures.p50_ttft_ms} ms",
        "rate_limited_at": _when(figures.last_rate_limited_at),
        "rate_limited_until": _when(figures.rate_limited_until),
        "rate_limited": figures.rate_limited,
        "tools": TOOLS_OBSERVED[figures.tools_observed],
    }


def _rows(models: list[CatalogModel]) -> list[dict]:
    figures = health.read([m.model_id for m in models])
    return [{"m": m, "health": _health_cells(figures[m.model_id])} for m in models]


def _section_context(section: str) -> dict:
    """What one section's partial needs."""
    if section == "providers":
        return {"providers": selectors.provider_list(), "provider_kinds": PROVIDER_KINDS}
    if section == "aliases":
        return {"aliases": selectors.alias_list(), "strategies": Strategy.choices}
    if section == "presets":
        return {"presets": selectors.preset_list(), "strategies": Strategy.choices}
    return {"limits": selectors.usage_limit_list()}


def _page_context(request: HttpRequest) -> dict:
    shown = request.GET.get("show", "all")
    models = selectors.model_list(enabled_only=shown == "enabled")
    query = request.GET.get("q", "").strip()
    if query:
        models = models.filter(model_id__icontains=query)
    page = Paginator(models, MODEL_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "rows": _rows(list(page)), "show": shown, "q": query,
               "model_ids": selectors.model_list().values_list("model_id", flat=True)}
    for section in ("providers", "aliases", "presets", "limits"):
        context.update(_section_context(section))
    return context


def _section(request: HttpRequest, section: str, *, error: str = "", notice: str = "",
             form=None) -> HttpResponse:
    """Answer a section's form: its partial for htmx, else the page; refused input keeps the form and says why."""
    extra = {"section": section, "error": error, "notice": notice}
    if error and form is not None:
        extra[f"{section}_form"] = form.data
    if request.htmx:
        return render(request, f"console/models.html#{section}", {**_section_context(section), **extra},
                      status=400 if error else 200)
    if error:
        return render(request, "console/models.html", {**_page_context(request), **extra}, status=400)
    messages.success(request, notice)
    return redirect(f"{reverse('console-models')}#{section}")


@require_GET
@admin_page
def models_page(request: HttpRequest) -> HttpResponse:
    return render(request, "console/models.html", _page_context(request))


@require_POST
@admin_page
def models_sync(request: HttpRequest) -> HttpResponse:
    slug = request.POST.get("provider", "").strip() or services.OPENROUTER_SLUG
    if slug == services.OPENROUTER_SLUG:
        services.catalog_seed()
    if not selectors.provider_list().filter(slug=slug).exists():
        messages.error(request, f"No provider {slug!r}.")
        return redirect("console-models")
    try:
        result = services.catalog_sync(provider_slug=slug)
    except SyncError as exc:
        messages.error(request, f"Sync failed; the catalog is unchanged: {exc}")
    else:
        messages.success(request, f"Synced: {len(result['added'])} added, {len(result['updated'])} updated, "
                                  f"{len(result['disabled'])} disabled.")
    return redirect("console-models")


# ---------------------------------------------------------------- one model


@require_POST
@admin_page
def model_toggle(request: HttpRequest, model_pk: int) -> HttpResponse:
    model = found(selectors.model_get(pk=model_pk), "No such model.")
    wanted = request.POST.get("enabled", "")
    error = "" if wanted in ("true", "false") else "Say enabled=true or enabled=false."
    if not error:
        model = services.model_toggle(model=model, enabled=wanted == "true")
    if request.htmx:
        context = {"row": _rows([model])[0], "error": error, "error_model": model.pk}
        return render(request, "console/models.html#model-row", context, status=400 if error else 200)
    if error:
        messages.error(request, f"{model.model_id}: {error}")
    else:
        messages.success(request, f"{model.model_id} is {'enabled' if model.enabled else 'disabled'}.")
    return redirect("console-models")


@require_POST
@admin_page
def models_bulk(request: HttpRequest) -> HttpResponse:
    """Enable or disable the ticked models (``ids``, ``enabled=true|false``); back to the catalog."""
    wanted = request.POST.get("enabled", "")
    raw = request.POST.getlist("ids")
    if wanted not in ("true", "false") or not raw or not all(i.isascii() and i.isdigit() and len(i) < 19 for i in raw):
        messages.error(request, "Tick one or more models, then press Enable or Disable.")
        return render(request, "console/models.html", _page_context(request), status=400)
    changed = services.models_set_enabled(pks=[int(i) for i in raw], enabled=wanted == "true")
    state = "enabled" if wanted == "true" else "disabled"
    messages.success(request, f"{changed} model{'s' if changed != 1 else ''} {state}.")
    return redirect("console-models")


# ---------------------------------------------------------------- providers, aliases, presets, limits


def _form_write(request: HttpRequest, section: str, form, write: Callable[[dict], str]) -> HttpResponse:
    """Check ``form``; then ``write(cleaned_data)`` (a service call that returns the notice).

    Refused input, at the form or in the service, writes nothing and answers 400 with the reason.
    """
    if not form.is_valid():
        return _section(request, section, form=form, error=form_problem(form))
    try:
        notice = write(form.cleaned_data)
    except ValidationError as exc:
        return _section(request, section, form=form, error=_problem(exc))
    return _section(request, section, notice=notice)


def _remove(request: HttpRequest, section: str, record, delete: Callable[[], None], *, missing: str,
            notice: str) -> HttpResponse:
    """Delete ``record`` through ``delete()``, or say it is not there (400) when it is None."""
    if record is None:
        return _section(request, section, error=missing)
    delete()
    return _section(request, section, notice=notice)


@require_POST
@admin_page
def provider_add(request: HttpRequest) -> HttpResponse:
    def write(v: dict) -> str:
        provider = services.provider_create(slug=v["slug"], name=v["name"], kind=v["kind"],
                                            base_url=v["base_url"], api_key=v["api_key"])
        return f"Provider {provider.slug} added; sync it to list its models."

    return _form_write(request, "providers", ProviderForm(request.POST), write)


@require_POST
@admin_page
def alias_save(request: HttpRequest) -> HttpResponse:
    def write(v: dict) -> str:
        alias = services.alias_set(alias=v["alias"], model_id=v["model_id"], fallbacks=v["fallbacks"],
                                   strategy=v["strategy"])
        return f"Alias {alias.alias} saved."

    return _form_write(request, "aliases", AliasForm(request.POST), write)


@require_POST
@admin_page
def alias_remove(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("alias", "")
    alias = selectors.alias_get(alias=name)
    return _remove(request, "aliases", alias, lambda: services.alias_delete(alias=alias),
                   missing=f"No alias {name!r}; it may have been deleted already.", notice=f"Alias {name} deleted.")


@require_POST
@admin_page
def preset_save(request: HttpRequest) -> HttpResponse:
    def write(v: dict) -> str:
        preset = services.preset_set(name=v["name"], model_id=v["model_id"], fallbacks=v["fallbacks"],
                                     params=v["params"], strategy=v["strategy"])
        return f"Preset @preset/{preset.name} saved."

    return _form_write(request, "presets", PresetForm(request.POST), write)


@require_POST
@admin_page
def preset_remove(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "")
    preset = selectors.preset_get(name=name)
    return _remove(request, "presets", preset, lambda: services.preset_delete(preset=preset),
                   missing=f"No preset {name!r}; it may have been deleted already.",
                   notice=f"Preset @preset/{name} deleted.")


@require_POST
@admin_page
def limit_save(request: HttpRequest) -> HttpResponse:
    def write(v: dict) -> str:
        model = None
        if v["model_id"]:
            model = selectors.model_get_by_model_id(model_id=v["model_id"])
            if model is None:
                raise ValidationError(f"Model: no catalog model {v['model_id']!r}; leave it empty for the default.")
        services.usage_limit_set(model=model, max_requests_per_day=v["max_requests_per_day"],
                                 max_tokens_per_day=v["max_tokens_per_day"])
        return f"Limit for {model or 'every model'} saved."

    return _form_write(request, "limits", UsageLimitForm(request.POST), write)


@require_POST
@admin_page
def limit_clear(request: HttpRequest) -> HttpResponse:
    model_id = request.POST.get("model_id", "").strip() or None
    limit = selectors.usage_limit_get(model_id=model_id)
    shown = model_id or "every model"
    return _remove(request, "limits", limit, lambda: services.usage_limit_delete(limit=limit),
                   missing=f"No limit for {shown} to clear.", notice=f"Limit for {shown} cleared.")
