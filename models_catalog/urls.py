"""REST endpoints of this app, mounted under /api/."""

from django.urls import path

from models_catalog import apis

urlpatterns = [
    path("admin/models", apis.AdminModelListApi.as_view()),
    path("admin/models/toggle", apis.AdminModelToggleApi.as_view()),
    path("admin/sync-models", apis.AdminSyncModelsApi.as_view()),
    path("admin/providers", apis.AdminProviderListCreateApi.as_view()),
    path("admin/providers/<int:provider_id>", apis.AdminProviderDetailApi.as_view()),
    path("admin/aliases", apis.AdminAliasApi.as_view()),
    path("admin/aliases/<path:alias>", apis.AdminAliasDetailApi.as_view()),
    path("admin/presets", apis.AdminPresetApi.as_view()),
    path("admin/presets/<slug:name>", apis.AdminPresetDetailApi.as_view()),
    path("admin/usage-limits", apis.AdminUsageLimitApi.as_view()),
    path("chat/models", apis.ChatModelListApi.as_view()),
    path("user/models", apis.UserModelListApi.as_view()),
    path("user/models/<int:model_id>/toggle", apis.UserModelToggleApi.as_view()),
    path("user/models/<int:model_id>/status", apis.UserModelStatusApi.as_view()),
]
