"""Admin console page of the catalog: models, sync, aliases, presets and usage limits.

Toggles, alias/preset/limit editing and model health arrive with the catalog
services; until then this page shows them read-only.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import admin_page
from models_catalog import selectors, services
from models_catalog.sync import SyncError

MODEL_PAGE_SIZE = 100


@require_GET
@admin_page
def models_page(request: HttpRequest) -> HttpResponse:
    shown = request.GET.get("show", "all")
    models = selectors.model_list(enabled_only=shown == "enabled")
    query = request.GET.get("q", "").strip()
    if query:
        models = models.filter(model_id__icontains=query)
    page = Paginator(models, MODEL_PAGE_SIZE).get_page(request.GET.get("page"))
    snapshot = selectors.snapshot()
    limits = [{"model": model or "every model (default)", "requests": req, "tokens": tok}
              for model, (req, tok) in sorted(snapshot.usage_limits.items(), key=lambda kv: kv[0] or "")]
    return render(request, "console/models.html", {
        "page": page, "show": shown, "q": query,
        "aliases": sorted(snapshot.aliases.items()), "presets": sorted(snapshot.presets.items()), "limits": limits,
    })


@require_POST
@admin_page
def models_sync(request: HttpRequest) -> HttpResponse:
    try:
        services.catalog_seed()
        result = services.catalog_sync()
    except SyncError as exc:
        messages.error(request, f"Sync failed; the catalog is unchanged: {exc}")
    else:
        messages.success(request, f"Synced: {len(result['added'])} added, {len(result['updated'])} updated, "
                                  f"{len(result['disabled'])} disabled.")
    return redirect("console-models")
