"""Admin console pages of this app, mounted under /console/."""

from django.urls import path

from chat import admin_views, live_views

urlpatterns = [
    path("", admin_views.dashboard_page, name="console-dashboard"),
    path("cache/clear", admin_views.cache_clear, name="console-cache-clear"),
    path("logs/", admin_views.logs_page, name="console-logs"),
    path("logs/<int:log_id>/", admin_views.log_detail_page, name="console-log-detail"),
    path("live/", live_views.live_page, name="console-live"),
]
