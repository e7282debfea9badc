from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_page, name="login"),
    path("logout/", views.logout_page, name="logout"),
    path("register/", views.register_page, name="register"),
    path("device/", views.device_page, name="device"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/password/", views.change_password_page, name="change_password"),
    path("settings/api-key/", views.upstream_key_set, name="upstream_key_set"),
    path("settings/api-key/delete/", views.upstream_key_delete, name="upstream_key_delete"),
    path("settings/keys/", views.gateway_key_create, name="gateway_key_create"),
    path("settings/keys/<int:key_id>/toggle/", views.gateway_key_toggle, name="gateway_key_toggle"),
    path("settings/keys/<int:key_id>/cache-ttl/", views.gateway_key_cache_ttl, name="gateway_key_cache_ttl"),
    path("settings/keys/<int:key_id>/delete/", views.gateway_key_delete, name="gateway_key_delete"),
    path("settings/models/<int:model_pk>/toggle/", views.my_model_toggle, name="my_model_toggle"),
]
