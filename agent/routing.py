"""Channels HTTP consumers (SSE endpoints) of this app, mounted by gateway_project.routing."""

from django.urls import path

from agent.consumers import AgentChatConsumer

http_urlpatterns: list = [
    path("api/agent/chat", AgentChatConsumer.as_asgi()),
]
