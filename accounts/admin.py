"""Django admin for users and gateway keys; no secret is ever shown."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import services
from accounts.models import GatewayKey, LedgerEntry, UpstreamKey, User
from gateway_project import invalidation
from gateway_project.announcing_admin import AnnouncingAdmin


@admin.register(User)
class UserAdmin(AnnouncingAdmin, BaseUserAdmin):
    announces = (invalidation.PRINCIPALS,)
    ordering = ["id"]
    list_display = ["email", "role", "is_active", "date_joined"]
    list_filter = ["role", "is_active"]
    search_fields = ["email"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Access", {"fields": ["role", "is_active", "is_superuser"]}),
        ("Limits", {"fields": ["rpm", "tpm", "budget", "budget_period"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2", "role"]})]
    filter_horizontal: list = []


@admin.register(GatewayKey)
class GatewayKeyAdmin(AnnouncingAdmin):
    announces = (invalidation.PRINCIPALS,)
    list_display = ["name", "prefix", "user", "enabled", "expires_at", "created_at", "last_used_at", "deleted_at"]
    list_filter = ["enabled"]
    search_fields = ["name", "prefix", "user__email"]
    fields = [
        "user", "name", "prefix", "enabled", "expires_at", "allowed_models", "rpm", "tpm", "budget", "budget_period",
    ]
    readonly_fields = ["user", "prefix"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created where their secret can be shown once

    @admin.action(description="Revoke (soft-delete) selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            services.gateway_key_delete(key=key)


@admin.register(UpstreamKey)
class UpstreamKeyAdmin(AnnouncingAdmin):
    announces = (invalidation.UPSTREAM_POOL,)
    list_display = ["id", "label", "provider", "account", "last4", "enabled", "created_at"]
    fields = ["label", "provider", "account", "last4", "enabled"]
    readonly_fields = ["last4"]

    def has_add_permission(self, request):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "amount", "balance_after", "note"]
    list_filter = ["kind"]
    search_fields = ["user__email", "note"]

    def has_change_permission(self, request, obj=None):
        return False


# simplejwt's blacklist app registers its models with the admin; an OutstandingToken row holds a
# whole refresh token, a secret no page may show. Revocation goes through accounts.tokens instead.
for _model in (OutstandingToken, BlacklistedToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
