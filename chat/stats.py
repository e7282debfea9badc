"""Statistics of the request log: the admin dashboard's figures, and each model's recent health."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Case, Count, F, QuerySet, Sum, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from chat.log_selectors import ERROR_Q
from chat.models import RequestLog
from chat.proxy import inflight


def in_flight() -> int:
    """Return requests in flight now, across gateway processes (see ``chat.proxy.inflight``)."""
    return inflight.total()


def _model_name():
    """The model a row is about: the one that answered, else the one asked for."""
    return Case(When(model_used="", then=F("model_requested")), default=F("model_used"))


def _totals(rows: QuerySet) -> QuerySet:
    return rows.annotate(
        requests=Count("id"), tokens=Sum("total_tokens"), errors=Count("id", filter=ERROR_Q), cost=Sum("cost")
    )


def _numbers(row: dict) -> dict:
    return {"requests": row["requests"], "tokens": row["tokens"] or 0, "errors": row["errors"],
            "cost": row["cost"] or Decimal("0")}


def admin_stats(*, days: int = 14, top: int = 5, today: date | None = None) -> dict:
    """Return requests, tokens, errors and cost per UTC day for the last ``days`` days (oldest
    first, every day present), the ``top`` models and users by requests over that window, the
    window's totals, and requests in flight now. Money values are ``Decimal``.
    """
    today = today or timezone.now().astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    rows = RequestLog.objects.filter(created_at__gte=datetime.combine(first, time.min, tzinfo=UTC))
    per_day = {
        r["day"]: _numbers(r)
        for r in _totals(rows.annotate(day=TruncDate("created_at", tzinfo=UTC)).values("day")).order_by()
    }
    zero = {"requests": 0, "tokens": 0, "errors": 0, "cost": Decimal("0")}
    series = [{"date": first + timedelta(days=i), **per_day.get(first + timedelta(days=i), zero)} for i in range(days)]
    models = _totals(rows.annotate(model=_model_name()).values("model")).order_by("-requests", "model")[:top]
    users = _totals(rows.filter(user__isnull=False).values("user_id", "user__email")).order_by("-requests", "user_id")[:top]
    totals = {key: sum(day[key] for day in series) for key in zero}
    return {
        "from": first,
        "to": today,
        "days": series,
        "totals": totals,
        "topModels": [{"model": m["model"], **_numbers(m)} for m in models],
        "topUsers": [{"id": u["user_id"], "email": u["user__email"], **_numbers(u)} for u in users],
        "inFlight": in_flight(),
    }
