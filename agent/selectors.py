"""Reads the agent's tools (and the orchestrator) need: the caller's models, their recent health, usage figures.

The usage figures read ``chat.models.RequestLog`` directly because ``chat``
has no selectors module yet; they belong there once it does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.principals import Principal
from chat.models import RequestLog
from gateway_project.errors import ApiError
from models_catalog.selectors import ModelInfo, asnapshot, user_model_ids

PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
HEALTH_WINDOW = timedelta(hours=1)


async def ausable_models(*, principal: Principal) -> list[ModelInfo]:
    """Return the enabled catalog models the caller may use ("My models", within a key's allow-list), free first."""
    snapshot = await asnapshot()
    ids = await sync_to_async(user_model_ids, thread_sensitive=False)(user_id=principal.user_id)
    models = [snapshot.models[m] for m in ids if m in snapshot.models and snapshot.models[m].enabled]
    if principal.allowed_models:
        models = [m for m in models if m.model_id in principal.allowed_models]
    return sorted(models, key=lambda m: (not m.free, m.model_id))


def check_usable(*, usable: list[ModelInfo], requested: list[str]) -> None:
    """Raise a 400 naming the requested models that are not among the caller's usable ones."""
    unknown = sorted(set(requested) - {m.model_id for m in usable})
    if unknown:
        raise ApiError(f"You cannot use {', '.join(unknown)}; GET /api/user/models lists your models.",
                       extra={"unknown": unknown})


def model_health(*, model_ids: list[str], now: datetime | None = None) -> dict[str, str]:
    """Return each model's health from the gateway's last hour of requests: healthy, degraded, failing or unknown."""
    since = (now or timezone.now()) - HEALTH_WINDOW
    rows = (
        RequestLog.objects.filter(created_at__gte=since, model_requested__in=model_ids)
        .values("model_requested")
        .annotate(total=Count("id"), ok=Count("id", filter=Q(status=200)))
    )
    health = dict.fromkeys(model_ids, "unknown")
    for row in rows:
        rate = row["ok"] / row["total"]
        health[row["model_requested"]] = "healthy" if rate >= 0.8 else "degraded" if rate >= 0.3 else "failing"
    return health


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
    by_model = (
        rows.exclude(model_used="").values("model_used")
        .annotate(requests=Count("id"), tokens=Sum("total_tokens"), cost=Sum("cost"))
        .order_by("-requests", "model_used")[:10]
    )
    by_source = rows.values("source").annotate(requests=Count("id")).order_by("-requests", "source")
    summary = {
        "period": period,
        "requests": totals["requests"],
        "errors": totals["errors"],
        "promptTokens": totals["prompt"] or 0,
        "completionTokens": totals["completion"] or 0,
        "totalTokens": (totals["prompt"] or 0) + (totals["completion"] or 0),
        "cost": _money(totals["cost"]),
        "byModel": [{"model": r["model_used"], "requests": r["requests"], "tokens": r["tokens"] or 0,
                     "cost": _money(r["cost"])} for r in by_model],
        "bySource": {r["source"]: r["requests"] for r in by_source},
    }
    if user_id is None:
        summary["activeUsers"] = rows.exclude(user_id=None).values("user_id").distinct().count()
    return summary


def _money(value: Decimal | None) -> str:
    return str((value or Decimal("0")).quantize(Decimal("0.000001")))
