"""A user's usage of the gateway from the request log: today per model, against limits, and over a period."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from accounts.selectors import credit_balance
from chat.models import RequestLog
from chat.proxy import clock
from gateway_project.money import money
from models_catalog.selectors import snapshot

PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}


def _today_start() -> datetime:
    now = clock.utcnow()
    return datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)


def _per_model(rows: QuerySet[RequestLog]) -> QuerySet:
    """Requests, tokens and cost of ``rows`` per model that answered."""
    return rows.values("model_used").annotate(requests=Count("id"), tokens=Sum("total_tokens"), cost=Sum("cost"))


def usage_today(*, user_id: int) -> list[dict]:
    """Return today's (UTC) requests, tokens and cost per model for one user, busiest first (for the usage page)."""
    rows = _per_model(RequestLog.objects.filter(user_id=user_id, created_at__gte=_today_start())).order_by("-requests")
    return [
        {"model": r["model_used"] or "(refused)", "requests": r["requests"], "tokens": r["tokens"] or 0,
         "cost": r["cost"]}
        for r in rows
    ]


def user_usage(*, user) -> dict:
    """Return ``{balance, limits, today}``: per-model limits with today's use, and today's totals per model."""
    start = _today_start()
    rows = _per_model(RequestLog.objects.filter(user=user, created_at__gte=start).exclude(model_used=""))
    today = [
        {"modelId": r["model_used"], "requests": r["requests"], "tokens": r["tokens"] or 0, "cost": money(r["cost"])}
        for r in rows.order_by("model_used")
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


def usage_summary(*, user_id: int | None, period: str, now: datetime | None = None) -> dict:
    """Return request counts, tokens and cost over ``period`` (day, week, month or all), for one user or everyone.

    Money is a decimal string in USD; ``byModel`` and ``bySource`` list the busiest first.
    """
    rows = RequestLog.objects.all()
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    if period in PERIODS:
        rows = rows.filter(created_at__gte=(now or timezone.now()) - PERIODS[period])
    totals = rows.aggregate(
        requests=Count("id"),
        errors=Count("id", filter=~Q(status=200)),
        prompt=Sum("prompt_tokens"),
        completion=Sum("completion_tokens"),
        cost=Sum("cost"),
    )
    by_model = _per_model(rows.exclude(model_used="")).order_by("-requests", "model_used")[:10]
    by_source = rows.values("source").annotate(requests=Count("id")).order_by("-requests", "source")
    summary = {
        "period": period,
        "requests": totals["requests"],
        "errors": totals["errors"],
        "promptTokens": totals["prompt"] or 0,
        "completionTokens": totals["completion"] or 0,
        "totalTokens": (totals["prompt"] or 0) + (totals["completion"] or 0),
        "cost": money(totals["cost"] or 0),
        "byModel": [{"model": r["model_used"], "requests": r["requests"], "tokens": r["tokens"] or 0,
                     "cost": money(r["cost"] or 0)} for r in by_model],
        "bySource": {r["source"]: r["requests"] for r in by_source},
    }
    if user_id is None:
        summary["activeUsers"] = rows.exclude(user_id=None).values("user_id").distinct().count()
    return summary

