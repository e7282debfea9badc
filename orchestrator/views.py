"""The orchestrator's page: one prompt to several models (``static/js/orchestrator.js`` streams the answers)."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from models_catalog.selectors import ausable_models


@login_required
@require_GET
def orchestrator_page(request):
    """The caller's models, the first few checked: the ones the API asks when none are named."""
    models = async_to_sync(ausable_models)(user_id=request.user.id)
    default = settings.GATEWAY.orchestrator_default_models
    return render(request, "orchestrator/orchestrator.html", {
        "models": [(m, i < default) for i, m in enumerate(models)],
        "max_models": settings.GATEWAY.orchestrator_max_models,
    })
