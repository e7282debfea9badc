"""Celery tasks of the chat app (beat schedules them; see settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from chat.retention import request_logs_purge


@shared_task
def purge_request_logs_task() -> int:
    return request_logs_purge()
