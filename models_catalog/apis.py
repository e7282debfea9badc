"""REST endpoints of the catalog: the admin's catalog, aliases, presets, limits and providers; a user's own models."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from gateway_project.errors import ApiError, found
from gateway_project.pagination import paginated
from gateway_project.validators import api_integer, api_json
from models_catalog import health, selectors, services
from models_catalog.models import CatalogModel, Provider, Strategy, UsageLimit
from models_catalog.serializers import (
    admin_model_out,
    alias_out,
    catalog_model_out,
    preset_out,
    provider_out,
    usage_limit_out,
)
from models_catalog.sync import SyncError

MODEL_ID = serializers.CharField(max_length=200)
FALLBACKS = serializers.ListField(child=serializers.CharField(max_length=200), required=False, max_length=20)
STRATEGY = serializers.ChoiceField(choices=Strategy.values, required=False)


def _model_or_404(model_id: str) -> CatalogModel:
    return found(selectors.model_get_by_model_id(model_id=model_id), f"No catalog model {model_id!r}.")


# ---------------------------------------------------------------- admin: the catalog


def _with_health(page) -> list[dict]:
    figures = health.read([m.model_id for m in page])
    return [admin_model_out(m, figures[m.model_id]) for m in page]


class AdminModelListApi(APIView):
    permission_classes = [IsAdmin]

    def get(self, request):
        return paginated(request, self, selectors.model_list(), page_out=_with_health)


class AdminModelToggleApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        modelId = MODEL_ID
        enabled = serializers.BooleanField(required=False, allow_null=True, default=None)

    def put(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        model = _model_or_404(data.validated_data["modelId"])
        model = services.model_toggle(model=model, enabled=data.validated_data["enabled"])
        return Response(catalog_model_out(model))


class AdminSyncModelsApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        provider = serializers.SlugField(max_length=50, required=False, default=services.OPENROUTER_SLUG)

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        slug = data.validated_data["provider"]
        if slug == services.OPENROUTER_SLUG:
            services.catalog_seed()
        if not Provider.objects.filter(slug=slug).exists():
            raise ApiError(f"No provider {slug!r}.", status_code=404)
        try:
            result = services.catalog_sync(provider_slug=slug)
        except SyncError as exc:
            raise ApiError(f"Sync failed; the catalog is unchanged: {exc}", status_code=502,
                           extra={"provider": slug}) from exc
        return Response({"provider": slug, **result})


class AdminProviderListCreateApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        slug = serializers.SlugField(max_length=50)
        name = serializers.CharField(max_length=100)
        kind = serializers.ChoiceField(choices=Provider.Kind.values)
        baseUrl = serializers.URLField(max_length=300, required=False, default="")
        apiKey = serializers.CharField(max_length=500, required=False, default="", write_only=True)

    def get(self, request):
        return paginated(request, self, selectors.provider_list(), provider_out)

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        provider = services.provider_create(slug=v["slug"], name=v["name"], kind=v["kind"], base_url=v["baseUrl"],
                                            api_key=v["apiKey"])
        return Response(provider_out(provider), status=201)


class AdminProviderDetailApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False)
        baseUrl = serializers.URLField(max_length=300, required=False)
        enabled = serializers.BooleanField(required=False)
        apiKey = serializers.CharField(max_length=500, required=False, allow_blank=True)

    def patch(self, request, provider_id: int):
        provider = selectors.provider_get(pk=provider_id)
        if provider is None:
            raise ApiError("No such provider.", status_code=404)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        provider = services.provider_update(provider=provider, name=v.get("name"), base_url=v.get("baseUrl"),
                                            enabled=v.get("enabled"), api_key=v.get("apiKey"))
        return Response(provider_out(provider))


# ---------------------------------------------------------------- admin: aliases, presets, limits


class AdminAliasApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        alias = serializers.CharField(max_length=200)
        modelId = MODEL_ID
        fallbacks = FALLBACKS
        strategy = STRATEGY

    def get(self, request):
        return paginated(request, self, selectors.alias_list(), alias_out)

    def put(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        alias = services.alias_set(alias=v["alias"], model_id=v["modelId"], fallbacks=v.get("fallbacks"),
                                   strategy=v.get("strategy"))
        return Response(alias_out(alias))


class AdminAliasDetailApi(APIView):
    permission_classes = [IsAdmin]

    def delete(self, request, alias: str):
        services.alias_delete(alias=found(selectors.alias_get(alias=alias), f"No alias {alias!r}."))
        return Response(status=204)


class AdminPresetApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        name = serializers.SlugField(max_length=100)
        model = MODEL_ID
        fallbacks = FALLBACKS
        params = api_json(required=False)
        strategy = STRATEGY

    def get(self, request):
        return paginated(request, self, selectors.preset_list(), preset_out)

    def put(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        preset = services.preset_set(name=v["name"], model_id=v["model"], fallbacks=v.get("fallbacks"),
                                     params=v.get("params"), strategy=v.get("strategy"))
        return Response(preset_out(preset))


class AdminPresetDetailApi(APIView):
    permission_classes = [IsAdmin]

    def delete(self, request, name: str):
        services.preset_delete(preset=found(selectors.preset_get(name=name), f"No preset {name!r}."))
        return Response(status=204)


class AdminUsageLimitApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        modelId = serializers.CharField(max_length=200, allow_null=True)
        maxRequestsPerDay = api_integer(UsageLimit, "max_requests_per_day", allow_null=True)
        maxTokensPerDay = api_integer(UsageLimit, "max_tokens_per_day", allow_null=True)

    def get(self, request):
        return paginated(request, self, selectors.usage_limit_list(), usage_limit_out)

    def put(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        model = None if v["modelId"] in (None, "*") else _model_or_404(v["modelId"])
        limit = services.usage_limit_set(model=model, max_requests_per_day=v["maxRequestsPerDay"],
                                         max_tokens_per_day=v["maxTokensPerDay"])
        return Response(usage_limit_out(limit))


# ---------------------------------------------------------------- the caller's models


class ChatModelListApi(APIView):
    """The models the caller can chat with: enabled by an admin and not turned off by the caller."""

    def get(self, request):
        return paginated(request, self, selectors.user_usable_models(user_id=request.user.id), catalog_model_out)


class UserModelListApi(APIView):
    """Every enabled model, with ``enabled`` the caller's own toggle."""

    def get(self, request):
        choices = selectors.user_model_choices(user_id=request.user.id)
        return paginated(request, self, choices, lambda pair: catalog_model_out(pair[0], enabled=pair[1]))


def _enabled_model_or_404(pk: int) -> CatalogModel:
    model = selectors.model_get(pk=pk)  # a model an admin turned off is not the user's to see
    return found(model if model is not None and model.enabled else None, "No such model.")


class UserModelToggleApi(APIView):
    class InputSerializer(serializers.Serializer):
        enabled = serializers.BooleanField(required=False, allow_null=True, default=None)

    def put(self, request, model_id: int):
        model = _enabled_model_or_404(model_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        enabled = services.user_model_toggle(user_id=request.user.id, model=model,
                                             enabled=data.validated_data["enabled"])
        return Response(catalog_model_out(model, enabled=enabled))


class UserModelStatusApi(APIView):
    def get(self, request, model_id: int):
        model = _enabled_model_or_404(model_id)
        off = selectors.user_disabled_model_ids(user_id=request.user.id)
        figures = health.read([model.model_id])[model.model_id]
        return Response({"id": model.id, "modelId": model.model_id, "enabled": model.model_id not in off,
                         "available": model.enabled,
                         "health": {"successRate": figures.success_rate, "rateLimited": figures.rate_limited,
                                    "rateLimitedUntil": figures.rate_limited_until}})
