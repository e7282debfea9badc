"""The agent's SSE endpoint: ``POST /api/agent/chat``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from rest_framework import serializers

from accounts.principals import Principal
from agent import services
from gateway_project.sse import SseConsumer
from models_catalog.selectors import ausable_models, check_usable


class HistoryItemIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=["user", "assistant"])
    content = serializers.CharField(max_length=8000, allow_blank=True, trim_whitespace=False)


class AgentChatConsumer(SseConsumer):
    """Stream the agent's ``status`` events, then ``done`` or ``error``."""

    class InputSerializer(serializers.Serializer):
        question = serializers.CharField(max_length=4000)
        model = serializers.CharField(max_length=200, required=False, allow_blank=True)
        history = HistoryItemIn(many=True, required=False, max_length=20)

    async def prepare(self, *, principal: Principal, data: dict) -> services.AgentPlan:
        given = self.InputSerializer(data=data)
        given.is_valid(raise_exception=True)
        requested = given.validated_data.get("model") or None
        usable = await ausable_models(user_id=principal.user_id, allowed_models=principal.allowed_models)
        check_usable(usable=usable, requested=[requested] if requested else [])
        return services.agent_plan(question=given.validated_data["question"],
                                   history=[dict(h) for h in given.validated_data.get("history", [])],
                                   usable=usable, requested=requested)

    def events(self, *, principal: Principal, prepared: services.AgentPlan) -> AsyncIterator[tuple[str, dict]]:
        return services.agent_answer(principal=principal, plan=prepared)
