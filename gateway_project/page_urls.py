"""Server-rendered pages (each app's ``views.py``); the admin console lives under /console/."""

from django.urls import include, path

from gateway_project.favicon import favicon

urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("", include("accounts.page_urls")),
    path("", include("chat.page_urls")),
    path("", include("agent.page_urls")),
    path("", include("orchestrator.page_urls")),
    path("console/", include("chat.admin_page_urls")),
    path("console/", include("models_catalog.admin_page_urls")),
    path("console/", include("accounts.admin_page_urls")),
]
