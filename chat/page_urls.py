from django.urls import include, path

from chat import live_views, usage_views

urlpatterns = [
    path("usage/", usage_views.usage_page, name="usage"),
    path("usage/live/", live_views.usage_live_page, name="usage-live"),
    path("", include("chat.playground.page_urls")),
]
