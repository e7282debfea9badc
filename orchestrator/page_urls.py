from django.urls import path

from orchestrator import views

urlpatterns = [
    path("orchestrator/", views.orchestrator_page, name="orchestrator"),
]
