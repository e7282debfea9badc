"""``/health/live`` (the process answers) and ``/health/ready`` (its dependencies answer)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _redis_ok() -> bool:
    from gateway_project.redis_client import sync_client

    try:
        return bool(sync_client().ping())
    except Exception:
        return False


def dependency_status() -> dict[str, str]:
    """Each dependency's state: ``ok``, ``down`` or ``embedded``."""
    cfg = settings.GATEWAY
    status = {"database": "ok" if _database_ok() else "down"}
    status["redis"] = ("ok" if _redis_ok() else "down") if cfg.redis_url else "embedded"
    status["broker"] = "configured" if cfg.celery_broker_url else "embedded"
    return status


@require_GET
def live(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET
def ready(request) -> JsonResponse:
    status = dependency_status()
    down = [name for name, state in status.items() if state == "down"]
    body = {"status": "down" if down else "ok", "dependencies": status,
            "redisFailureMode": settings.GATEWAY.redis_failure_mode}
    if down:
        body["message"] = f"{', '.join(down)} unreachable"
    return JsonResponse(body, status=503 if down else 200)
