"""The admin's REST endpoint of the response cache (chat/proxy/cache.py): clear it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from chat.proxy import cache as response_cache
from gateway_project.schema import error_responses


class AdminCacheApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={**error_responses(),
                              200: inline_serializer("CacheCleared", {"cleared": serializers.IntegerField()})})
    def delete(self, request):
        return Response({"cleared": response_cache.clear()})
