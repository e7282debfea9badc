"""Input checks the orchestrator's endpoints share."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers


def at_most(items: list, limit: int) -> list:
    """Return ``items``; raise DRF's 400 when there are more than ``limit`` (a setting, so read per request)."""
    if len(items) > limit:
        raise serializers.ValidationError(f"Ensure this field has no more than {limit} elements.")
    return items


class ResponseIn(serializers.Serializer):
    modelId = serializers.CharField(max_length=200, required=False, allow_blank=True)  # noqa: N815
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    content = serializers.CharField(max_length=20000, trim_whitespace=False)


class SynthesizeIn(serializers.Serializer):
    """The input of both syntheses (``/api/orchestrate/synthesize`` and its stream)."""

    prompt = serializers.CharField(max_length=20000)
    responses = ResponseIn(many=True, min_length=1)
    model = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate_responses(self, value: list) -> list:
        return at_most(value, settings.GATEWAY.orchestrator_max_models * 2)
