"""Channels HTTP consumers (SSE endpoints) of this app, mounted by gateway_project.routing."""

from django.urls import path

from orchestrator.consumers import OrchestrateStreamConsumer
from orchestrator.synthesis_consumers import SynthesizeStreamConsumer

http_urlpatterns: list = [
    path("api/orchestrate/stream", OrchestrateStreamConsumer.as_asgi()),
    path("api/orchestrate/synthesize/stream", SynthesizeStreamConsumer.as_asgi()),
]
