"""Reads for conversations and the caller's own usage figures."""

from __future__ import annotations

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from chat.models import Conversation, Message, RequestLog


def conversation_list(*, user_id: int) -> QuerySet[Conversation]:
    """Return the user's conversations, most recently active first."""
    return Conversation.objects.filter(user_id=user_id)


def conversation_get(*, user_id: int, conversation_id: int) -> Conversation | None:
    """Return one of the user's conversations; another user's looks absent (None)."""
    return Conversation.objects.filter(user_id=user_id, pk=conversation_id).first()


def message_list(*, conversation: Conversation) -> QuerySet[Message]:
    """Return a conversation's messages, oldest first."""
    return conversation.messages.all()


def usage_today(*, user_id: int) -> list[dict]:
    """Return today's (UTC) requests, tokens and cost per model for one user, busiest first."""
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        RequestLog.objects.filter(user_id=user_id, created_at__gte=start)
        .values("model_used")
        .annotate(requests=Count("id"), tokens=Sum("total_tokens"), cost=Sum("cost"))
        .order_by("-requests")
    )
    return [
        {"model": r["model_used"] or "(refused)", "requests": r["requests"], "tokens": r["tokens"] or 0,
         "cost": r["cost"]}
        for r in rows
    ]
