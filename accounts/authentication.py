"""JWT authentication: the management API's DRF class, and the claims of a bare access token."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken

# Every JWT carries its user's token version under this claim (accounts/tokens.py issues them).
VERSION_CLAIM = "tv"


class ActiveUserJWTAuthentication(JWTAuthentication):
    """simplejwt, reading the user fresh so a disabled user's or a revoked token stops at once."""

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if not user.is_active:
            raise AuthenticationFailed("User is inactive.", code="user_inactive")
        if token_version(validated_token) != user.token_version:
            raise AuthenticationFailed("The token was revoked; log in again.", code="token_revoked")
        return user

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    token_version: int


def token_version(token) -> int:
    """The ``tv`` claim of a decoded token (tokens issued before the claim existed are version 0)."""
    try:
        return int(token.get(VERSION_CLAIM, 0))
    except (TypeError, ValueError):
        return -1


def jwt_access_claims(token: str) -> AccessClaims | None:
    """Return the user id and token version of a valid, unexpired access token, or None.

    The version must still be compared with the user's (``principals.aprincipal_for_jwt`` does).
    """
    try:
        access = AccessToken(token)
        return AccessClaims(user_id=int(access[jwt_settings.USER_ID_CLAIM]), token_version=token_version(access))
    except (TokenError, KeyError, TypeError, ValueError):
        return None
