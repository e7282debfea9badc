"""Input checks the orchestrator's endpoints share."""

from __future__ import annotations

from rest_framework import serializers


def at_most(items: list, limit: int) -> list:
    """Return ``items``; raise DRF's 400 when there are more than ``limit`` (a setting, so read per request)."""
    if len(items) > limit:
        raise serializers.ValidationError(f"Ensure this field has no more than {limit} elements.")
    return items
