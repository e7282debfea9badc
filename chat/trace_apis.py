"""``GET /api/traces/{request_id}``: one request's trace events, to its owner or an admin."""

from __future__ import annotations

from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import trace_selectors
from gateway_project.errors import ApiError


class TraceDetailApi(APIView):
    """The request's events in order (docs/api.md, "Trace events"); another user's request is a 404."""

    permission_classes = [IsAuthenticated]

    def get(self, request, request_id: str):
        owner = None if request.user.is_admin else request.user.id
        row = trace_selectors.trace_get(request_id=request_id, user_id=owner)
        if row is None:
            raise ApiError("Not found.", status_code=404)
        return Response(trace_selectors.trace_out(row))
