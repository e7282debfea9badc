"""REST endpoints of the request log (admin: everyone's rows, stats, CSV; users: their own rows)."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from chat import log_selectors, stats
from chat.models import RequestLog
from gateway_project.errors import found
from gateway_project.money import money
from gateway_project.pagination import paginated
from gateway_project.schema import error_responses

SAFE_ATTEMPT_FIELDS = ("model", "key", "account", "status", "latencyMs", "reason")
LOG_FILTER_PARAMETERS = [OpenApiParameter(name, str, required=False) for name in log_selectors.FILTER_NAMES]


def attempt_out(attempt: dict) -> dict:
    """One routing attempt as logged: only the masked key (``…abcd``), never a secret."""
    return {name: attempt.get(name) for name in SAFE_ATTEMPT_FIELDS}


def request_log_out(row: RequestLog, *, email: str | None = None, detail: bool = False) -> dict:
    data = {
        "id": row.id,
        "requestId": row.request_id,
        "createdAt": row.created_at.isoformat(),
        "user": {"id": row.user_id, "email": email} if row.user_id else None,
        "keyPrefix": row.key_prefix,
        "source": row.source,
        "endpoint": row.endpoint,
        "modelRequested": row.model_requested,
        "modelUsed": row.model_used,
        "stream": row.stream,
        "status": row.status,
        "errorType": row.error_type,
        "promptTokens": row.prompt_tokens,
        "completionTokens": row.completion_tokens,
        "totalTokens": row.total_tokens,
        "cost": money(row.cost),
        "ttftMs": row.ttft_ms,
        "latencyMs": row.latency_ms,
        "cacheHit": row.cache_hit,
        "attemptCount": len(row.attempts or []),
    }
    if detail:
        data.update(
            errorMessage=row.error_message,
            generationId=row.generation_id,
            clientDisconnected=row.client_disconnected,
            attempts=[attempt_out(a) for a in row.attempts or [] if isinstance(a, dict)],
            requestBody=row.request_body,
            responseBody=row.response_body,
        )
    return data


def _with_emails(page) -> list[dict]:
    emails = log_selectors.request_log_user_emails(rows=page)
    return [request_log_out(r, email=emails.get(r.user_id)) for r in page]


def _detail(row: RequestLog | None) -> Response:
    row = found(row, "No such request.")
    return Response(request_log_out(row, email=row.user.email if row.user else None, detail=True))


@extend_schema(parameters=LOG_FILTER_PARAMETERS)
class AdminChatLogListApi(APIView):
    permission_classes = [IsAdmin]

    def get(self, request):
        filters = log_selectors.log_filters_parse(request.query_params)
        return paginated(request, self, log_selectors.request_log_list(filters=filters), page_out=_with_emails)


class AdminChatLogDetailApi(APIView):
    permission_classes = [IsAdmin]

    def get(self, request, log_id: int):
        return _detail(log_selectors.request_log_get(log_id=log_id))


@extend_schema(parameters=LOG_FILTER_PARAMETERS,
               responses={**error_responses(), (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)})
class AdminChatLogExportApi(APIView):
    """``GET /api/admin/chat-logs/export``: the filtered rows as CSV, streamed."""

    permission_classes = [IsAdmin]

    def get(self, request):
        filters = log_selectors.log_filters_parse(request.query_params)
        rows = log_selectors.request_log_list(filters=filters)
        response = StreamingHttpResponse(log_selectors.request_log_csv(rows=rows), content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="chat-logs-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response


@extend_schema(parameters=LOG_FILTER_PARAMETERS)
class UserChatLogListApi(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        filters = log_selectors.log_filters_parse({k: v for k, v in request.query_params.items() if k != "user"})
        return paginated(request, self, log_selectors.request_log_list(filters=filters, user_id=request.user.id),
                         page_out=_with_emails)


class UserChatLogDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request, log_id: int):
        return _detail(log_selectors.request_log_get(log_id=log_id, user_id=request.user.id))


class AdminStatsApi(APIView):
    permission_classes = [IsAdmin]

    class QuerySerializer(serializers.Serializer):
        days = serializers.IntegerField(min_value=1, max_value=90, required=False, default=14)
        top = serializers.IntegerField(min_value=1, max_value=50, required=False, default=5)

    def get(self, request):
        data = self.QuerySerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        result = stats.admin_stats(days=data.validated_data["days"], top=data.validated_data["top"])
        return Response(stats_out(result))


def _numbers_out(item: dict) -> dict:
    return {**item, "cost": money(item["cost"])}


def stats_out(result: dict) -> dict:
    """``admin_stats()`` as JSON: dates as ISO strings, money as decimal strings."""
    return {
        "from": result["from"].isoformat(),
        "to": result["to"].isoformat(),
        "days": [{**_numbers_out(d), "date": d["date"].isoformat()} for d in result["days"]],
        "totals": _numbers_out(result["totals"]),
        "topModels": [_numbers_out(m) for m in result["topModels"]],
        "topUsers": [_numbers_out(u) for u in result["topUsers"]],
        "inFlight": result["inFlight"],
    }
