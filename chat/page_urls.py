from django.urls import path

from chat import live_views, usage_views, views

urlpatterns = [
    path("usage/", usage_views.usage_page, name="usage"),
    path("usage/live/", live_views.usage_live_page, name="usage-live"),
    path("playground/", views.playground_page, name="playground"),
    path("playground/new/", views.conversation_new, name="conversation_new"),
    path("playground/<int:conversation_id>/", views.conversation_page, name="conversation"),
    path("playground/<int:conversation_id>/send/", views.conversation_send, name="conversation_send"),
    path("playground/<int:conversation_id>/settings/", views.conversation_settings, name="conversation_settings"),
    path("playground/<int:conversation_id>/delete/", views.conversation_remove, name="conversation_delete"),
]
