"""Admin console pages of this app, mounted under /console/."""

from django.urls import path

from accounts import admin_views

urlpatterns = [
    path("users/", admin_views.users_page, name="console-users"),
    path("users/invite", admin_views.user_invite, name="console-user-invite"),
    path("users/<int:user_id>/role", admin_views.user_role, name="console-user-role"),
    path("users/<int:user_id>/active", admin_views.user_active, name="console-user-active"),
    path("users/<int:user_id>/credits", admin_views.user_credits, name="console-user-credits"),
    path("upstream-keys/", admin_views.upstream_keys_page, name="console-upstream-keys"),
    path("upstream-keys/add", admin_views.upstream_key_add, name="console-upstream-key-add"),
    path("upstream-keys/import", admin_views.upstream_keys_import, name="console-upstream-keys-import"),
    path("upstream-keys/<int:upstream_key_id>/limits", admin_views.upstream_key_limits, name="console-upstream-key-limits"),
    path("upstream-keys/<int:pool_key_id>/enabled", admin_views.upstream_key_enabled, name="console-upstream-key-enabled"),
    path("upstream-keys/<int:pool_key_id>/test", admin_views.upstream_key_test, name="console-upstream-key-test"),
    path("upstream-keys/<int:pool_key_id>/delete", admin_views.upstream_key_remove, name="console-upstream-key-delete"),
]
