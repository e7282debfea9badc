"""Request-log retention: rows older than ``GATEWAY_LOG_RETENTION_DAYS`` are deleted in batches."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from chat.models import RequestLog

BATCH = 5000


def request_logs_purge(*, older_than_days: int | None = None) -> int:
    """Delete log rows older than the retention; return how many. Batches keep each transaction short."""
    days = settings.GATEWAY.log_retention_days if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(RequestLog.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[:BATCH])
        if not ids:
            return deleted
        deleted += RequestLog.objects.filter(id__in=ids).delete()[0]
