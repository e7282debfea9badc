"""REST endpoints of the orchestrator: ``POST /api/orchestrate/synthesize``."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.conf import settings
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.principals import require_principal
from models_catalog.selectors import ausable_models, check_usable
from orchestrator import services
from orchestrator.serializers import at_most


class ResponseIn(serializers.Serializer):
    modelId = serializers.CharField(max_length=200, required=False, allow_blank=True)  # noqa: N815
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    content = serializers.CharField(max_length=20000, trim_whitespace=False)


class OrchestrateSynthesizeApi(APIView):
    """Write one answer to ``prompt`` from the collected ``responses``."""

    class InputSerializer(serializers.Serializer):
        prompt = serializers.CharField(max_length=20000)
        responses = ResponseIn(many=True, min_length=1)
        model = serializers.CharField(max_length=200, required=False, allow_blank=True)

        def validate_responses(self, value: list) -> list:
            return at_most(value, settings.GATEWAY.orchestrator_max_models * 2)

    def post(self, request):
        given = self.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        principal = require_principal(request.user.id)
        data = given.validated_data
        result = async_to_sync(self._synthesize)(principal, data)
        return Response(result)

    @staticmethod
    async def _synthesize(principal, data: dict) -> dict:
        usable = await ausable_models(user_id=principal.user_id, allowed_models=principal.allowed_models)
        requested = data.get("model") or None
        check_usable(usable=usable, requested=[requested] if requested else [])
        responses = [dict(r) for r in data["responses"]]
        models = services.synthesis_models(usable=usable, requested=requested, responses=responses)
        return await services.synthesize(principal=principal, prompt=data["prompt"], responses=responses,
                                         models=models)
