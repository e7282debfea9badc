"""Channels HTTP consumers (SSE endpoints) of this app, mounted by gateway_project.routing."""

from django.urls import path

from chat.playground.consumers import ConversationStreamConsumer
from chat.trace_consumers import AdminTraceStreamConsumer, TraceStreamConsumer

http_urlpatterns: list = [
    path("api/conversations/<int:conversation_id>/messages/stream", ConversationStreamConsumer.as_asgi()),
    path("api/admin/traces/stream", AdminTraceStreamConsumer.as_asgi()),
    path("api/traces/stream", TraceStreamConsumer.as_asgi()),
]
