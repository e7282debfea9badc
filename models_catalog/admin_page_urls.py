"""Admin console pages of this app, mounted under /console/."""

from django.urls import path

from models_catalog import admin_views

urlpatterns = [
    path("models/", admin_views.models_page, name="console-models"),
    path("models/sync", admin_views.models_sync, name="console-models-sync"),
    path("models/bulk", admin_views.models_bulk, name="console-models-bulk"),
    path("models/<int:model_pk>/toggle", admin_views.model_toggle, name="console-model-toggle"),
    path("models/providers", admin_views.provider_add, name="console-provider-add"),
    path("models/aliases", admin_views.alias_save, name="console-alias-save"),
    path("models/aliases/delete", admin_views.alias_remove, name="console-alias-delete"),
    path("models/presets", admin_views.preset_save, name="console-preset-save"),
    path("models/presets/delete", admin_views.preset_remove, name="console-preset-delete"),
    path("models/limits", admin_views.limit_save, name="console-limit-save"),
    path("models/limits/clear", admin_views.limit_clear, name="console-limit-clear"),
]
