"""REST endpoints for playground conversations (JWT bearer or session)."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.principals import require_principal
from chat.models import Conversation
from chat.playground import selectors, services
from gateway_project.errors import found
from gateway_project.pagination import paginated


def conversation_out(conversation: Conversation, *, with_messages: bool = False) -> dict:
    data = {
        "id": conversation.id,
        "model": conversation.model,
        "title": conversation.title,
        "systemPrompt": conversation.system_prompt,
        "temperature": conversation.temperature,
        "createdAt": conversation.created_at.isoformat(),
        "updatedAt": conversation.updated_at.isoformat(),
    }
    if with_messages:
        data["messages"] = [services.message_out(m) for m in selectors.message_list(conversation=conversation)]
    return data


def _own_conversation(request, conversation_id: int) -> Conversation:
    return found(selectors.conversation_get(user_id=request.user.id, conversation_id=conversation_id),
                 "No such conversation.")


class ConversationListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        model = serializers.CharField(max_length=200)
        title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        systemPrompt = serializers.CharField(max_length=services.MAX_SYSTEM_PROMPT, required=False,
                                             allow_blank=True, default="")
        temperature = serializers.FloatField(min_value=0, max_value=2, required=False, allow_null=True, default=None)

    def get(self, request):
        return paginated(request, self, selectors.conversation_list(user_id=request.user.id), conversation_out)

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = services.conversation_create(
            user_id=request.user.id, model=data.validated_data["model"], title=data.validated_data["title"],
            system_prompt=data.validated_data["systemPrompt"], temperature=data.validated_data["temperature"],
        )
        return Response(conversation_out(conversation, with_messages=True), status=201)


class ConversationDetailApi(APIView):
    def get(self, request, conversation_id: int):
        return Response(conversation_out(_own_conversation(request, conversation_id), with_messages=True))

    def delete(self, request, conversation_id: int):
        services.conversation_delete(conversation=_own_conversation(request, conversation_id))
        return Response(status=204)


class ConversationMessageApi(APIView):
    """Send a message and wait for the whole answer (the streaming twin is a Channels consumer)."""

    class InputSerializer(serializers.Serializer):
        content = serializers.CharField(max_length=services.MAX_CONTENT)

    def post(self, request, conversation_id: int):
        conversation = _own_conversation(request, conversation_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        principal = require_principal(request.user.id)
        result = services.message_send(
            principal=principal, conversation=conversation, content=data.validated_data["content"]
        )
        return Response({"messageId": result["message"]["id"], **result}, status=201)
