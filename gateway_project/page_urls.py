"""Server-rendered pages (each app's ``views.py``)."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.page_urls")),
    path("console/", include("chat.admin_page_urls")),
    path("console/", include("models_catalog.admin_page_urls")),
    path("console/", include("accounts.admin_page_urls")),
]
