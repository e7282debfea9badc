"""Admin console pages of this app, mounted under /console/."""

from django.urls import path

from models_catalog import views

urlpatterns = [
    path("models/", views.models_page, name="console-models"),
    path("models/sync", views.models_sync, name="console-models-sync"),
]
