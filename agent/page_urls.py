from django.urls import path

from agent import views

urlpatterns = [
    path("agent/", views.agent_page, name="agent"),
]
