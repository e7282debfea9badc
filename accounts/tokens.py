"""JWTs: issue a pair, rotate a refresh token, revoke every token of a user.

Two mechanisms, each covering what the other cannot:

- simplejwt's blacklist app records every refresh token issued; a refresh
  rotates (the one used is blacklisted, a new one is answered), so a stolen
  refresh token works at most once and its use is visible to the owner.
- every token carries the user's ``token_version`` (claim ``tv``); raising it
  (password change, logout, an admin disabling the account) makes every
  access token issued before stop working at once, on the management API and
  on /v1, which blacklisting refresh tokens alone would not.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.authentication import VERSION_CLAIM, token_version
from accounts.models import User
from gateway_project import invalidation
from gateway_project.errors import ApiError


def token_pair_issue(*, user: User) -> dict[str, str]:
    """Return ``{"access", "refresh"}`` for ``user``; the refresh token is recorded as outstanding."""
    refresh = RefreshToken.for_user(user)
    refresh[VERSION_CLAIM] = user.token_version
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


_REFUSED = "The refresh token is invalid, expired or already used; log in again."


@transaction.atomic
def refresh_token_rotate(*, raw: str) -> dict[str, str]:
    """Exchange a refresh token for a new pair, once; raise ``ApiError`` 401 otherwise.

    The token used is blacklisted in the same transaction; of two concurrent
    refreshes with one token, the blacklist's unique row lets only one through.
    """
    try:
        refresh = RefreshToken(raw)  # signature, expiry and the blacklist
    except TokenError as exc:
        raise ApiError(_REFUSED, status_code=401) from exc
    user = User.objects.filter(pk=refresh.payload.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is None or not user.is_active:
        raise ApiError("The account is disabled.", status_code=401)
    if token_version(refresh) != user.token_version:
        raise ApiError(_REFUSED, status_code=401)
    outstanding = OutstandingToken.objects.filter(jti=refresh.payload[jwt_settings.JTI_CLAIM]).first()
    if outstanding is None:  # not issued by token_pair_issue (or its record was purged)
        raise ApiError(_REFUSED, status_code=401)
    _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
    if not created:
        raise ApiError(_REFUSED, status_code=401)
    return token_pair_issue(user=user)


@transaction.atomic
def user_tokens_revoke(*, user: User) -> None:
    """End every JWT of ``user``: blacklist its outstanding refresh tokens and raise its token version.

    The principal cache (/v1, SSE) is dropped after commit, in every process.
    """
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])
    open_tokens = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in open_tokens], ignore_conflicts=True)
    invalidation.announce(invalidation.PRINCIPALS, detail=str(user.id))
