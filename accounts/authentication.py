"""JWT authentication for the management API that re-checks the user on every request."""

from __future__ import annotations

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed


class ActiveUserJWTAuthentication(JWTAuthentication):
    """simplejwt, reading the user fresh so a disabled user's tokens stop at once."""

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if not user.is_active:
            raise AuthenticationFailed("User is inactive.", code="user_inactive")
        return user

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
