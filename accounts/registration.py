"""Self-service registration: open (``GATEWAY_REGISTRATION_OPEN``) or by an admin's single-use invite.

Registration is closed by default. An admin creates an invite (REST
``POST /api/admin/invites`` or the console's users page) and hands out its
link ``/register/?invite=<token>``; the token works once, until it expires.
Every self-registered account starts with the default pool quota
(``GATEWAY_USER_DEFAULT_RPM`` requests a minute, ``GATEWAY_USER_DEFAULT_DAILY_REQUESTS``
pool requests a day), which an admin can raise through the user's limits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import services
from accounts.models import Invite, User
from accounts.secrets_util import hash_secret
from gateway_project.errors import ApiError

INVITE_DEFAULT_HOURS = 72
INVITE_MAX_HOURS = 24 * 30
REGISTER_PATH = "/register/"
CLOSED_MESSAGE = "Registration is closed; ask an admin for an invite."
BAD_INVITE_MESSAGE = "This invite is unknown, expired or already used; ask an admin for a new one."


@dataclass(frozen=True)
class CreatedInvite:
    invite: Invite
    token: str

    @property
    def link(self) -> str:
        """The path to hand out (the token is shown here once and never stored)."""
        return f"{REGISTER_PATH}?invite={self.token}"


@transaction.atomic
def invite_create(*, by: User | None, hours: int = INVITE_DEFAULT_HOURS) -> CreatedInvite:
    """Create a single-use invite valid for ``hours`` (1 to 720)."""
    if not 1 <= hours <= INVITE_MAX_HOURS:
        raise ApiError(f"expiresInHours must be between 1 and {INVITE_MAX_HOURS}.", status_code=400,
                       extra={"param": "expiresInHours"})
    token = secrets.token_urlsafe(24)
    invite = Invite.objects.create(token_hash=hash_secret(token), created_by=by,
                                   expires_at=timezone.now() + timedelta(hours=hours))
    return CreatedInvite(invite=invite, token=token)


def invite_usable(token: str) -> bool:
    """Return whether ``token`` names an unused, unexpired invite (read only; the page asks before the form)."""
    return bool(token) and Invite.objects.filter(token_hash=hash_secret(token), used_at__isnull=True,
                                                 expires_at__gt=timezone.now()).exists()


def registration_allowed(invite_token: str = "") -> bool:
    """Return whether someone may see the registration form: it is open, or they hold a usable invite."""
    return settings.GATEWAY.registration_open or invite_usable(invite_token)


@transaction.atomic
def user_register(*, email: str, password: str, invite_token: str = "") -> User:
    """Create a self-registered account with the default pool quota, using up ``invite_token`` when given.

    Without an invite this needs open registration (403 otherwise). A given
    invite must be unused and unexpired (403 otherwise); it is used only if the
    account is created (a refused password leaves it usable).
    """
    invite = None
    if invite_token:
        invite = Invite.objects.select_for_update().filter(token_hash=hash_secret(invite_token)).first()
        if invite is None or invite.used_at is not None or invite.expires_at <= timezone.now():
            raise ApiError(BAD_INVITE_MESSAGE, status_code=403, extra={"param": "invite"})
    elif not settings.GATEWAY.registration_open:
        raise ApiError(CLOSED_MESSAGE, status_code=403)
    user = services.user_create(email=email, password=password)
    cfg = settings.GATEWAY
    user.rpm = cfg.user_default_rpm or None
    user.daily_requests = cfg.user_default_daily_requests or None
    user.save(update_fields=["rpm", "daily_requests"])
    if invite is not None:
        invite.used_at = timezone.now()
        invite.used_by = user
        invite.save(update_fields=["used_at", "used_by"])
    return user
