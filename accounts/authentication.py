"""JWT authentication: the management API's DRF class, and the user id of a bare access token."""

from __future__ import annotations

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken


class ActiveUserJWTAuthentication(JWTAuthentication):
    """simplejwt, reading the user fresh so a disabled user's tokens stop at once."""

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if not user.is_active:
            raise AuthenticationFailed("User is inactive.", code="user_inactive")
        return user

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


def jwt_user_id(token: str) -> int | None:
    """Return the user id of a valid, unexpired access token, or None (callers on /v1 and SSE endpoints)."""
    try:
        return int(AccessToken(token)[jwt_settings.USER_ID_CLAIM])
    except (TokenError, KeyError, TypeError, ValueError):
        return None
