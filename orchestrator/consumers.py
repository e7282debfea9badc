"""The orchestrator's SSE endpoint: ``POST /api/orchestrate/stream``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from django.conf import settings
from rest_framework import serializers

from accounts.principals import Principal
from gateway_project.errors import ApiError
from gateway_project.sse import SseConsumer
from models_catalog.selectors import ModelInfo, ausable_models, check_usable
from orchestrator import services
from orchestrator.serializers import at_most


class OrchestrateStreamConsumer(SseConsumer):
    """Stream one ``model_response`` per model as each finishes, then ``all_done``."""

    class InputSerializer(serializers.Serializer):
        prompt = serializers.CharField(max_length=20000)
        models = serializers.ListField(child=serializers.CharField(max_length=200), required=False)

        def validate_models(self, value: list[str]) -> list[str]:
            return at_most(value, settings.GATEWAY.orchestrator_max_models)

    async def prepare(self, *, principal: Principal, data: dict) -> tuple[str, list[ModelInfo]]:
        given = self.InputSerializer(data=data)
        given.is_valid(raise_exception=True)
        requested = list(dict.fromkeys(given.validated_data.get("models") or []))
        usable = await ausable_models(user_id=principal.user_id, allowed_models=principal.allowed_models)
        check_usable(usable=usable, requested=requested)
        models = services.fanout_models(usable=usable, requested=requested)
        if not models:
            raise ApiError("You have no model to ask; enable some in My models.")
        return given.validated_data["prompt"], models

    def events(self, *, principal: Principal, prepared: tuple[str, list[ModelInfo]]) -> AsyncIterator[tuple[str, dict]]:
        prompt, models = prepared
        return services.orchestrate(principal=principal, prompt=prompt, models=models)
