"""Admin console pages of this app, mounted under /console/."""

from django.urls import path

from models_catalog import views

urlpatterns = [
    path("models/", views.models_page, name="console-models"),
    path("models/sync", views.models_sync, name="console-models-sync"),
    path("models/bulk", views.models_bulk, name="console-models-bulk"),
    path("models/<int:model_pk>/toggle", views.model_toggle, name="console-model-toggle"),
    path("models/providers", views.provider_add, name="console-provider-add"),
    path("models/aliases", views.alias_save, name="console-alias-save"),
    path("models/aliases/delete", views.alias_remove, name="console-alias-delete"),
    path("models/presets", views.preset_save, name="console-preset-save"),
    path("models/presets/delete", views.preset_remove, name="console-preset-delete"),
    path("models/limits", views.limit_save, name="console-limit-save"),
    path("models/limits/clear", views.limit_clear, name="console-limit-clear"),
]
