"""REST endpoints of this app, mounted under /api/."""

from django.urls import include, path

from chat import cache_apis, trace_apis

urlpatterns: list = [
    path("", include("chat.playground.urls")),
    path("traces/<str:request_id>", trace_apis.TraceDetailApi.as_view()),
    path("admin/cache", cache_apis.AdminCacheApi.as_view()),
    path("", include("chat.log_urls")),
    path("", include("chat.usage_urls")),
]
