"""The user's usage page: today's requests per model, limits, credits and the ledger."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts import selectors as account_selectors
from chat.usage import usage_today


@login_required
@require_GET
def usage_page(request):
    user = request.user
    return render(request, "chat/usage.html", {
        "account": account_selectors.credit_balance(user=user),
        "ledger": account_selectors.ledger_list(user=user).order_by("-id")[:50],
        "today": usage_today(user_id=user.id),
        "limits": {"rpm": user.rpm or settings.GATEWAY.default_rpm,
                   "tpm": user.tpm or settings.GATEWAY.default_tpm,
                   "budget": user.budget, "budget_period": user.budget_period,
                   "daily_requests": user.daily_requests},
    })
