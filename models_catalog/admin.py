"""Django admin for the catalog. Every change is announced to every process's snapshot; provider keys are write-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from gateway_project import invalidation
from gateway_project.announcing_admin import AnnouncingAdmin
from models_catalog import services
from models_catalog.models import Alias, CatalogModel, Preset, Provider, UsageLimit


class CatalogAdmin(AnnouncingAdmin):
    """Refresh the /v1 snapshot in every process after any change made here."""

    announces = (invalidation.CATALOG,)


class ProviderForm(forms.ModelForm):
    api_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                              help_text="write-only; leave empty to keep the stored key")

    class Meta:
        model = Provider
        fields = ["slug", "name", "kind", "base_url", "enabled"]


@admin.register(Provider)
class ProviderAdmin(CatalogAdmin):
    form = ProviderForm
    list_display = ["slug", "name", "kind", "base_url", "enabled", "api_key_last4", "last_sync_at", "last_sync_error"]
    readonly_fields = ["api_key_last4", "last_sync_at", "last_sync_error", "last_sync_summary"]

    def save_model(self, request, obj, form, change):
        secret = form.cleaned_data.get("api_key")
        if secret:
            services.provider_api_key_apply(obj, secret)
        super().save_model(request, obj, form, change)


@admin.register(CatalogModel)
class CatalogModelAdmin(CatalogAdmin):
    change_list_template = "admin/models_catalog/catalogmodel/change_list.html"
    list_display = ["model_id", "name", "provider", "enabled", "free", "listed", "supports_tools", "prompt_price",
                    "completion_price", "context_length", "disabled_reason"]
    list_filter = ["provider", "enabled", "free", "listed", "supports_tools"]
    search_fields = ["model_id", "name"]
    readonly_fields = ["provider", "model_id", "canonical_slug", "listed", "created_at", "updated_at"]
    actions = ["enable", "disable"]

    def save_model(self, request, obj, form, change):
        # Prices an admin sets stay: sync no longer overwrites them (untick price_overridden to follow upstream again).
        if change and {"prompt_price", "completion_price"} & set(form.changed_data):
            obj.price_overridden = True
        super().save_model(request, obj, form, change)

    def changelist_view(self, request, extra_context=None):
        extra = {"providers": Provider.objects.all(), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    @admin.action(description="Enable selected models")
    def enable(self, request, queryset):
        for model in queryset:
            services.model_toggle(model=model, enabled=True)

    @admin.action(description="Disable selected models")
    def disable(self, request, queryset):
        for model in queryset:
            services.model_toggle(model=model, enabled=False)


@admin.register(Alias)
class AliasAdmin(CatalogAdmin):
    list_display = ["alias", "model_id", "fallbacks"]
    search_fields = ["alias", "model_id"]


@admin.register(Preset)
class PresetAdmin(CatalogAdmin):
    list_display = ["name", "model_id", "fallbacks", "params"]
    search_fields = ["name", "model_id"]


@admin.register(UsageLimit)
class UsageLimitAdmin(CatalogAdmin):
    list_display = ["__str__", "max_requests_per_day", "max_tokens_per_day", "updated_at"]
