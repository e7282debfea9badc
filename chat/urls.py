"""REST endpoints of this app, mounted under /api/."""

from django.urls import include, path

urlpatterns: list = [
    path("", include("chat.log_urls")),
]
