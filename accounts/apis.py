"""REST endpoints for the caller's own keys and settings, and admin user management (auth is in auth_apis)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import CACHE_TTL_MAX_S, BudgetPeriod, GatewayKey, LedgerEntry, Role, UpstreamKey
from accounts.permissions import IsAdmin
from accounts.serializers import gateway_key_out, user_out
from gateway_project.errors import ApiError, found
from gateway_project.money import money
from gateway_project.pagination import paginated
from gateway_project.validators import (
    API_KEY_MAX_LENGTH,
    api_decimal,
    api_integer,
    api_text,
)


def _cache_ttl_field() -> serializers.IntegerField:
    """A key's ``cacheTtl``: seconds of the response cache, 0 off, null the server's GATEWAY_CACHE_TTL."""
    return serializers.IntegerField(min_value=0, max_value=CACHE_TTL_MAX_S, required=False, allow_null=True)


# ---------------------------------------------------------------- the caller's own settings


class UpstreamKeyApi(APIView):
    class InputSerializer(serializers.Serializer):
        apiKey = serializers.CharField(max_length=API_KEY_MAX_LENGTH, trim_whitespace=True)

    def put(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_upstream_key_set(user=request.user, api_key=data.validated_data["apiKey"])
        return Response(selectors.user_upstream_key_status(user=request.user))

    def delete(self, request):
        services.user_upstream_key_delete(user=request.user)
        return Response(status=204)


class UpstreamKeyStatusApi(APIView):
    def get(self, request):
        return Response(selectors.user_upstream_key_status(user=request.user))


class GatewayKeyListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = api_text(GatewayKey, "name")
        expiresAt = serializers.DateTimeField(required=False, allow_null=True)
        models = serializers.ListField(child=serializers.CharField(max_length=200), required=False, max_length=200)
        cacheTtl = _cache_ttl_field()

    def get(self, request):
        return paginated(request, self, selectors.gateway_key_list(user=request.user), gateway_key_out)

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.gateway_key_create(
            user=request.user,
            name=data.validated_data["name"],
            expires_at=data.validated_data.get("expiresAt"),
            models=data.validated_data.get("models"),
            cache_ttl=data.validated_data.get("cacheTtl"),
        )
        return Response(gateway_key_out(created.key, secret=created.secret), status=201)


class GatewayKeyDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        enabled = serializers.BooleanField(required=False)
        name = api_text(GatewayKey, "name", required=False)
        cacheTtl = _cache_ttl_field()

    def _key(self, request, key_id: int):
        key = found(selectors.gateway_key_get(key_id=key_id, user=request.user), "No such key.")
        return key

    def patch(self, request, key_id: int):
        key = self._key(request, key_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if not changes:
            raise ApiError("Nothing to change: send enabled, name or cacheTtl.", status_code=400)
        if "cacheTtl" in changes:
            changes["cache_ttl"] = changes.pop("cacheTtl")
        services.gateway_key_update(key=key, **changes)
        return Response(gateway_key_out(key))

    def delete(self, request, key_id: int):
        services.gateway_key_delete(key=self._key(request, key_id))
        return Response(status=204)


# ---------------------------------------------------------------- admin


class LimitsIn(serializers.Serializer):
    """Limits of a user or a key (both have the same columns: ``User.rpm`` and ``GatewayKey.rpm`` alike)."""

    rpm = api_integer(GatewayKey, "rpm", min_value=1, required=False, allow_null=True)
    tpm = api_integer(GatewayKey, "tpm", min_value=1, required=False, allow_null=True)
    budget = api_decimal(GatewayKey, "budget", min_value=0, required=False, allow_null=True)
    budgetPeriod = serializers.ChoiceField(choices=BudgetPeriod.values, required=False)


def _limit_changes(validated: dict) -> dict:
    names = {"rpm": "rpm", "tpm": "tpm", "budget": "budget", "budgetPeriod": "budget_period",
             "dailyRequests": "daily_requests"}
    return {names[k]: v for k, v in validated.items()}


def _admin_user(user_id: int):
    user = found(selectors.user_get(user_id=user_id), "No such user.")
    return user


class AdminUserListApi(APIView):
    permission_classes = [IsAdmin]

    def get(self, request):
        return paginated(request, self, selectors.user_list(), user_out)


class AdminUserRoleApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.values)

    def put(self, request, user_id: int):
        user = _admin_user(user_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(user_out(services.user_set_role(user=user, role=data.validated_data["role"], by=request.user)))


class AdminUserStatusApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        active = serializers.BooleanField()

    def put(self, request, user_id: int):
        user = _admin_user(user_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(user_out(services.user_set_active(user=user, active=data.validated_data["active"],
                                                          by=request.user)))


class AdminUserCreditsApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        amount = api_decimal(LedgerEntry, "amount")
        note = api_text(LedgerEntry, "note", required=False, allow_blank=True, default="")

    def post(self, request, user_id: int):
        user = _admin_user(user_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.credits_top_up(
            user=user, amount=data.validated_data["amount"], note=data.validated_data["note"], by=request.user
        )
        return Response({"balance": money(entry.balance_after), "entryId": entry.id}, status=201)


class AdminUserLimitsApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(LimitsIn):
        dailyRequests = serializers.IntegerField(min_value=1, max_value=2_147_483_647, required=False,
                                                 allow_null=True)

    def put(self, request, user_id: int):
        user = _admin_user(user_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = _limit_changes(data.validated_data)
        if not changes:
            raise ApiError("Nothing to change: send rpm, tpm, budget, budgetPeriod or dailyRequests.",
                           status_code=400)
        services.user_set_limits(user=user, fields=set(changes), **changes)
        return Response(user_out(user))


class AdminKeyListApi(APIView):
    permission_classes = [IsAdmin]

    def get(self, request):
        return paginated(request, self, selectors.gateway_key_list(),
                          lambda key: gateway_key_out(key, with_user=True))


class AdminKeyDetailApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(LimitsIn):
        enabled = serializers.BooleanField(required=False)
        cacheTtl = _cache_ttl_field()

    def patch(self, request, key_id: int):
        key = found(selectors.gateway_key_get(key_id=key_id), "No such key.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = _limit_changes({k: v for k, v in data.validated_data.items() if k not in ("enabled", "cacheTtl")})
        if "enabled" in data.validated_data:
            changes["enabled"] = data.validated_data["enabled"]
        if "cacheTtl" in data.validated_data:
            changes["cache_ttl"] = data.validated_data["cacheTtl"]
        if not changes:
            raise ApiError("Nothing to change.", status_code=400)
        services.gateway_key_update(key=key, **changes)
        return Response(gateway_key_out(key, with_user=True))


def upstream_key_out(record) -> dict:
    return {
        "id": record.id,
        "label": record.label,
        "provider": record.provider,
        "account": record.account,
        "last4": record.last4,
        "enabled": record.enabled,
        "createdAt": record.created_at.isoformat(),
        "freeRpm": record.free_rpm,
        "freeRpd": record.free_rpd,
    }


class KnownLimitsIn(serializers.Serializer):
    """A pool key's own known free-tier limits (null: OPENROUTER_FREE_RPM / _RPD)."""

    freeRpm = api_integer(UpstreamKey, "free_rpm", min_value=1, required=False, allow_null=True)
    freeRpd = api_integer(UpstreamKey, "free_rpd", min_value=1, required=False, allow_null=True)


def _known_limits(validated: dict) -> dict:
    names = {"freeRpm": "free_rpm", "freeRpd": "free_rpd"}
    return {names[k]: v for k, v in validated.items() if k in names}


class AdminUpstreamKeyListCreateApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(KnownLimitsIn):
        apiKey = serializers.CharField(max_length=API_KEY_MAX_LENGTH)
        label = api_text(UpstreamKey, "label", required=False, allow_blank=True, default="")
        account = api_text(UpstreamKey, "account", required=False, allow_blank=True, default="")

    def get(self, request):
        return paginated(request, self, selectors.upstream_key_list(), upstream_key_out)

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = services.upstream_key_add(
            api_key=data.validated_data["apiKey"],
            label=data.validated_data["label"],
            account=data.validated_data["account"],
            **_known_limits(data.validated_data),
        )
        return Response(upstream_key_out(record), status=201)


class AdminUpstreamKeyDetailApi(APIView):
    """Change a pool key's own known limits (``freeRpm``, ``freeRpd``; null goes back to the default)."""

    permission_classes = [IsAdmin]

    def patch(self, request, upstream_key_id: int):
        record = found(selectors.upstream_key_get(key_id=upstream_key_id), "No such key.")
        data = KnownLimitsIn(data=request.data)
        data.is_valid(raise_exception=True)
        changes = _known_limits(data.validated_data)
        if not changes:
            raise ApiError("Nothing to change: send freeRpm or freeRpd.", status_code=400)
        return Response(upstream_key_out(services.upstream_key_set_limits(record=record, **changes)))


@extend_schema(request={"text/plain": OpenApiTypes.STR})
class AdminUpstreamKeyImportApi(APIView):
    permission_classes = [IsAdmin]

    class QuerySerializer(serializers.Serializer):
        account = api_text(UpstreamKey, "account", required=False, allow_blank=True, default="")

    def post(self, request):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if request.content_type.startswith("text/plain"):
            raw = request.body
        elif request.content_type.startswith("multipart/form-data") and "file" in request.FILES:
            raw = request.FILES["file"].read()
        else:
            raise ApiError("Send a text file (multipart field 'file', or a text/plain body).", status_code=400)
        if len(raw) > 1_000_000:
            raise ApiError("The file is larger than 1 MB.", status_code=400)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError("The file is not UTF-8 text.", status_code=400) from exc
        return Response(services.upstream_keys_import(text=text, account=query.validated_data["account"]))
