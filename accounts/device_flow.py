"""Writes of the device authorization flow (RFC 8628): start a login, approve it, poll it once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import DeviceCode, User
from gateway_project.errors import ApiError

DEVICE_CODE_TTL = timedelta(minutes=10)
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels: no words, no 0/O confusion


def _user_code() -> str:
    raw = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def device_code_create() -> tuple[DeviceCode, str]:
    """Start a device login; return the record and the device code (shown once)."""
    device_code = secrets.token_urlsafe(32)
    for _ in range(5):
        try:
            record = DeviceCode.objects.create(
                device_code_hash=hashlib.sha256(device_code.encode()).hexdigest(),
                user_code=_user_code(),
                expires_at=timezone.now() + DEVICE_CODE_TTL,
            )
            return record, device_code
        except IntegrityError:
            continue
    raise ApiError("Could not allocate a device code; try again.", status_code=503)


@transaction.atomic
def device_code_approve(*, user_code: str, user: User, approve: bool = True) -> DeviceCode:
    code = user_code.strip().upper().replace(" ", "")
    if len(code) == 8:
        code = f"{code[:4]}-{code[4:]}"
    record = DeviceCode.objects.select_for_update().filter(user_code=code).first()
    if record is None or record.expires_at <= timezone.now() or record.status != DeviceCode.Status.PENDING:
        raise ApiError("This code is unknown, expired or already used.", status_code=400)
    record.status = DeviceCode.Status.APPROVED if approve else DeviceCode.Status.DENIED
    record.user = user
    record.save(update_fields=["status", "user"])
    return record


def device_code_poll(*, device_code: str) -> User:
    """Exchange an approved device code for its user, once; raise the RFC 8628 errors otherwise.

    The poll's bookkeeping (last poll time, a slowed interval, consumption) is
    committed before the error is raised: raising inside the transaction would
    roll it back, and ``slow_down`` could then never trigger.
    """
    user, error, extra = _device_code_poll_record(device_code=device_code)
    if error:
        raise ApiError(error, status_code=400, extra={"error": error, **extra})
    return user


@transaction.atomic
def _device_code_poll_record(*, device_code: str) -> tuple[User | None, str, dict]:
    """Record one poll; return (user, "", {}) on success or (None, RFC 8628 error, extra fields)."""
    digest = hashlib.sha256(device_code.encode()).hexdigest()
    record = DeviceCode.objects.select_for_update().filter(device_code_hash=digest).first()
    now = timezone.now()
    if record is None or record.status == DeviceCode.Status.CONSUMED:
        return None, "invalid_grant", {}
    if record.expires_at <= now:
        return None, "expired_token", {}
    if record.status == DeviceCode.Status.DENIED:
        return None, "access_denied", {}
    too_fast = record.last_polled_at and (now - record.last_polled_at).total_seconds() < record.interval
    record.last_polled_at = now
    if record.status == DeviceCode.Status.PENDING:
        if too_fast:
            record.interval += 5
            record.save(update_fields=["last_polled_at", "interval"])
            return None, "slow_down", {"interval": record.interval}
        record.save(update_fields=["last_polled_at"])
        return None, "authorization_pending", {}
    record.status = DeviceCode.Status.CONSUMED
    record.save(update_fields=["status", "last_polled_at"])
    if not record.user.is_active:
        return None, "access_denied", {}
    return record.user, "", {}
