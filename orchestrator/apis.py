"""REST endpoints of the orchestrator: ``POST /api/orchestrate/synthesize``."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.principals import require_principal
from models_catalog.selectors import ausable_models, check_usable
from orchestrator import services
from orchestrator.serializers import SynthesizeIn


class OrchestrateSynthesizeApi(APIView):
    """Write one answer to ``prompt`` from the collected ``responses``."""

    class InputSerializer(SynthesizeIn):
        pass

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
