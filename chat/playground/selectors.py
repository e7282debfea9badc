"""Reads for conversations (usage figures are in ``chat.usage``, request-log reads in ``chat.log_selectors``)."""

from __future__ import annotations

from django.db.models import QuerySet

from chat.models import Conversation, Message


def conversation_list(*, user_id: int) -> QuerySet[Conversation]:
    """Return the user's conversations, most recently active first."""
    return Conversation.objects.filter(user_id=user_id)


def conversation_get(*, user_id: int, conversation_id: int) -> Conversation | None:
    """Return one of the user's conversations; another user's looks absent (None)."""
    return Conversation.objects.filter(user_id=user_id, pk=conversation_id).first()


def message_list(*, conversation: Conversation) -> QuerySet[Message]:
    """Return a conversation's messages, oldest first."""
    return conversation.messages.all()
