"""Pages of the playground, mounted at the site's root by chat/page_urls.py."""

from django.urls import path

from chat.playground import views

urlpatterns = [
    path("playground/", views.playground_page, name="playground"),
    path("playground/new/", views.conversation_new, name="conversation_new"),
    path("playground/<int:conversation_id>/", views.conversation_page, name="conversation"),
    path("playground/<int:conversation_id>/send/", views.conversation_send, name="conversation_send"),
    path("playground/<int:conversation_id>/settings/", views.conversation_settings, name="conversation_settings"),
    path("playground/<int:conversation_id>/delete/", views.conversation_remove, name="conversation_delete"),
]
