"""The management API's OpenAPI schema (drf-spectacular), read off the views as they are written.

Our views are thin ``APIView``s with a nested ``InputSerializer`` (the request body, or the
query of a GET) and sometimes a ``QuerySerializer`` (the query of a write); answers are plain
dicts. So the schema takes each operation's input from those serializers, says every answer
is a JSON object, and gives every error the one shape ``{"message", "extra"}``. It holds no
secret: it describes fields, never values.
"""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

SUCCESS = {"GET": "200", "PUT": "200", "PATCH": "200", "POST": "200", "DELETE": "204"}
ERROR_STATUSES = ("400", "401", "403", "404", "429")


class ErrorOut(serializers.Serializer):
    """The management API's one error shape (``gateway_project.errors``)."""

    message = serializers.CharField()
    extra = serializers.DictField()


def error_responses() -> dict[str, OpenApiResponse]:
    """The documented refusals of every operation, each in the one error shape."""
    return {code: OpenApiResponse(ErrorOut, description="refused") for code in ERROR_STATUSES}


class ActiveUserJWTScheme(SimpleJWTScheme):
    """Our JWT class is simplejwt's with a fresh user read: the same bearer scheme."""

    target_class = "accounts.authentication.ActiveUserJWTAuthentication"


class GatewayAutoSchema(AutoSchema):
    """Body from ``InputSerializer``, query from ``QuerySerializer``; answers as objects, errors as ``ErrorOut``."""

    def _query_serializer(self) -> type[serializers.Serializer] | None:
        return getattr(self.view, "QuerySerializer", None)

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        """Name a view's nested serializer after the view (``AdminKeyDetailInput``), not ``Input`` for all."""
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        owner, _, own_name = type(serializer).__qualname__.rpartition(".")
        if owner and own_name in ("InputSerializer", "QuerySerializer"):
            return owner.removesuffix("Api") + name
        return name

    def get_request_serializer(self):
        if self.method in ("GET", "DELETE"):
            return None
        return getattr(self.view, "InputSerializer", None) or super().get_request_serializer()

    def get_override_parameters(self) -> list:
        query = self._query_serializer()
        return [*super().get_override_parameters(), *([query] if query else [])]

    def get_response_serializers(self):
        # A view may answer otherwise than its method's usual status (``success_status = "204"``).
        success = getattr(self.view, "success_status", None) or SUCCESS.get(self.method, "200")
        responses: dict = error_responses()
        if success == "204":
            responses["204"] = OpenApiResponse(description="done, no body")
        else:
            responses[success] = OpenApiResponse(OpenApiTypes.OBJECT, description="the answer")
            if self.method == "POST":
                responses["201"] = OpenApiResponse(OpenApiTypes.OBJECT, description="created")
        return responses
