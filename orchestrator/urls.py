"""REST endpoints of this app, mounted under /api/."""

from django.urls import path

from orchestrator import apis

urlpatterns: list = [
    path("orchestrate/synthesize", apis.OrchestrateSynthesizeApi.as_view()),
]
