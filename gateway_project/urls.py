from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from gateway_project import health

urlpatterns = [
    path("health/live", health.live),
    path("health/ready", health.ready),
    path("django-admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/", include("accounts.urls")),
    path("api/", include("models_catalog.urls")),
    path("api/", include("chat.urls")),
    path("api/", include("agent.urls")),
    path("api/", include("orchestrator.urls")),
    path("", include("gateway_project.page_urls")),
]

handler403 = "gateway_project.errors.forbidden"
handler404 = "gateway_project.errors.not_found"
handler500 = "gateway_project.errors.failed"
