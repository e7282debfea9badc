"""REST endpoints of the playground, mounted under /api/ by chat/urls.py."""

from django.urls import path

from chat.playground import apis

urlpatterns: list = [
    path("conversations", apis.ConversationListCreateApi.as_view()),
    path("conversations/<int:conversation_id>", apis.ConversationDetailApi.as_view()),
    path("conversations/<int:conversation_id>/messages", apis.ConversationMessageApi.as_view()),
]
