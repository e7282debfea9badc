"""The synthesis as a stream: ``POST /api/orchestrate/synthesize/stream`` (the orchestrator page's "Synthesize")."""

from __future__ import annotations

from collections.abc import AsyncIterator

from accounts.principals import Principal
from gateway_project.sse import SseConsumer
from models_catalog.selectors import ausable_models, check_usable
from orchestrator import services
from orchestrator.serializers import SynthesizeIn


class SynthesizeStreamConsumer(SseConsumer):
    """Stream ``token`` deltas of the combined answer, then ``done`` ``{modelId, modelName}`` or ``error``."""

    async def prepare(self, *, principal: Principal, data: dict) -> tuple[str, list[dict], list]:
        given = SynthesizeIn(data=data)
        given.is_valid(raise_exception=True)
        usable = await ausable_models(user_id=principal.user_id, allowed_models=principal.allowed_models)
        requested = given.validated_data.get("model") or None
        check_usable(usable=usable, requested=[requested] if requested else [])
        responses = [dict(r) for r in given.validated_data["responses"]]
        models = services.synthesis_models(usable=usable, requested=requested, responses=responses)
        return given.validated_data["prompt"], responses, models

    def events(self, *, principal: Principal, prepared: tuple[str, list[dict], list]) -> AsyncIterator[tuple[str, object]]:
        prompt, responses, models = prepared
        return services.synthesize_stream(principal=principal, prompt=prompt, responses=responses, models=models)
