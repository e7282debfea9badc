"""REST endpoints of this app, mounted under /api/."""

from django.urls import include, path

from chat import apis, cache_apis, trace_apis

urlpatterns: list = [
    path("conversations", apis.ConversationListCreateApi.as_view()),
    path("conversations/<int:conversation_id>", apis.ConversationDetailApi.as_view()),
    path("conversations/<int:conversation_id>/messages", apis.ConversationMessageApi.as_view()),
    path("traces/<str:request_id>", trace_apis.TraceDetailApi.as_view()),
    path("admin/cache", cache_apis.AdminCacheApi.as_view()),
    path("", include("chat.log_urls")),
    path("", include("chat.usage_urls")),
]
