"""SSE over POST for the playground: ``POST /api/conversations/{id}/messages/stream``.

Authentication, framing and cancel-on-disconnect come from
``gateway_project.sse.SseConsumer``: a client that goes away (or presses stop)
stops the upstream request at once, and the text so far is kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async

from accounts.principals import Principal
from chat.models import Conversation
from chat.playground import selectors
from chat.playground.services import astream_turn, content_clean, turn_again
from gateway_project.errors import ApiError, found
from gateway_project.sse import SseConsumer, error_data


class ConversationStreamConsumer(SseConsumer):
    """Answer one message as SSE: ``token`` (a JSON string), then ``done`` or ``error``."""

    failure_event = ("error", error_data("The gateway failed to finish this answer. Send again in a moment.", 500))

    async def prepare(self, *, principal: Principal, data: dict) -> tuple[Conversation, str]:
        conversation = await sync_to_async(selectors.conversation_get)(
            user_id=principal.user_id, conversation_id=int(self.scope["url_route"]["kwargs"]["conversation_id"])
        )
        found(conversation, "No such conversation.")
        if data.get("regenerate") is True:  # answer the last user message again (Retry, Regenerate)
            await sync_to_async(turn_again)(conversation=conversation)  # 400 when there is none
            return conversation, None
        content = data.get("content")
        if not isinstance(content, str):
            raise ApiError("content is required.", extra={"param": "content"})
        return conversation, content_clean(content)

    def events(self, *, principal: Principal,
               prepared: tuple[Conversation, str | None]) -> AsyncIterator[tuple[str, object]]:
        conversation, content = prepared
        return astream_turn(principal=principal, conversation=conversation, content=content)
