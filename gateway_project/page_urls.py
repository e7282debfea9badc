"""Server-rendered pages (each app's ``views.py``)."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.page_urls")),
    path("", include("chat.page_urls")),
]
