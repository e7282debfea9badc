from django.urls import path

from accounts import apis, auth_apis

urlpatterns = [
    path("auth/register", auth_apis.RegisterApi.as_view()),
    path("auth/login", auth_apis.LoginApi.as_view()),
    path("auth/refresh", auth_apis.RefreshApi.as_view()),
    path("auth/logout", auth_apis.LogoutApi.as_view()),
    path("auth/change-password", auth_apis.ChangePasswordApi.as_view()),
    path("auth/me", auth_apis.MeApi.as_view()),
    path("auth/device/code", auth_apis.DeviceCodeApi.as_view()),
    path("auth/device/token", auth_apis.DeviceTokenApi.as_view()),
    path("user/api-key", apis.UpstreamKeyApi.as_view()),
    path("user/api-key/status", apis.UpstreamKeyStatusApi.as_view()),
    path("user/keys", apis.GatewayKeyListCreateApi.as_view()),
    path("user/keys/<int:key_id>", apis.GatewayKeyDetailApi.as_view()),
    path("admin/users", apis.AdminUserListApi.as_view()),
    path("admin/users/<int:user_id>/role", apis.AdminUserRoleApi.as_view()),
    path("admin/users/<int:user_id>/status", apis.AdminUserStatusApi.as_view()),
    path("admin/users/<int:user_id>/credits", apis.AdminUserCreditsApi.as_view()),
    path("admin/users/<int:user_id>/limits", apis.AdminUserLimitsApi.as_view()),
    path("admin/invites", auth_apis.AdminInviteCreateApi.as_view()),
    path("admin/keys", apis.AdminKeyListApi.as_view()),
    path("admin/keys/<int:key_id>", apis.AdminKeyDetailApi.as_view()),
    path("admin/upstream-keys", apis.AdminUpstreamKeyListCreateApi.as_view()),
    path("admin/upstream-keys/import", apis.AdminUpstreamKeyImportApi.as_view()),
    path("admin/upstream-keys/<int:upstream_key_id>", apis.AdminUpstreamKeyDetailApi.as_view()),
]
