"""Channels HTTP consumers (SSE endpoints) of this app, mounted by gateway_project.routing."""

http_urlpatterns: list = []
