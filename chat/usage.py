"""A user's own usage against their limits today, and their credit balance (``GET /api/user/usage``)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db.models import Count, Sum

from accounts.selectors import credit_balance
from accounts.serializers import money
from chat.models import RequestLog
from chat.proxy import clock
from models_catalog.selectors import snapshot


def user_usage(*, user) -> dict:
    """Return ``{balance, limits, today}``: per-model limits with today's use, and today's totals per model."""
    now = clock.utcnow()
    start = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    rows = (
        RequestLog.objects.filter(user=user, created_at__gte=start)
        .exclude(model_used="")
        .values("model_used")
        .annotate(requests=Count("id"), tokens=Sum("total_tokens"), cost=Sum("cost"))
        .order_by("model_used")
    )
    today = [
        {"modelId": r["model_used"], "requests": r["requests"], "tokens": r["tokens"] or 0, "cost": money(r["cost"])}
        for r in rows
    ]
    used = {t["modelId"]: t for t in today}
    catalog = snapshot()
    limits = []
    for model_id, (max_requests, max_tokens) in sorted(catalog.usage_limits.items(), key=lambda kv: kv[0] or ""):
        scope = used.get(model_id, {}) if model_id else {
            "requests": sum(t["requests"] for t in today), "tokens": sum(t["tokens"] for t in today)}
        limits.append({
            "modelId": model_id,
            "maxRequestsPerDay": max_requests,
            "maxTokensPerDay": max_tokens,
            "requestsToday": scope.get("requests", 0),
            "tokensToday": scope.get("tokens", 0),
            "resetsAt": (start + timedelta(days=1)).isoformat(),
        })
    account = credit_balance(user=user)
    return {"balance": money(account.balance), "reserved": money(account.reserved), "limits": limits, "today": today}
