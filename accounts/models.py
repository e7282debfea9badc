"""Users, gateway keys, upstream secrets, device codes and the credits ledger."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    USER = "user", "User"


class BudgetPeriod(models.TextChoices):
    DAILY = "daily", "Daily"
    MONTHLY = "monthly", "Monthly"
    TOTAL = "total", "Total"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("role", Role.ADMIN)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.USER)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Per-user limits; null means the gateway default.
    rpm = models.PositiveIntegerField(null=True, blank=True)
    tpm = models.PositiveIntegerField(null=True, blank=True)
    budget = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    budget_period = models.CharField(max_length=10, choices=BudgetPeriod.choices, default=BudgetPeriod.MONTHLY)
    # Requests a day this account may send through the server pool (its own BYOK key is not counted);
    # null means no such limit. Self-registered accounts start with GATEWAY_USER_DEFAULT_DAILY_REQUESTS.
    daily_requests = models.PositiveIntegerField(null=True, blank=True)
    # Carried in every JWT ("tv"); raising it (password change, logout, disable) ends every token issued before.
    token_version = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_staff(self) -> bool:
        """Admins reach the Django admin."""
        return self.role == Role.ADMIN


class Invite(models.Model):
    """A single-use, expiring link an admin hands out while registration is closed; only its SHA-256 is stored."""

    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.OneToOneField(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="invite")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"invite {self.id} ({'used' if self.used_at else 'open'})"


CACHE_TTL_MAX_S = 7 * 86400  # the longest a key or a request may ask the response cache to keep an answer


class GatewayKey(models.Model):
    """A key that authenticates /v1; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="gateway_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=20)
    key_hash = models.CharField(max_length=64, unique=True)
    enabled = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    allowed_models = models.JSONField(default=list, blank=True)
    rpm = models.PositiveIntegerField(null=True, blank=True)
    tpm = models.PositiveIntegerField(null=True, blank=True)
    budget = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    budget_period = models.CharField(max_length=10, choices=BudgetPeriod.choices, default=BudgetPeriod.MONTHLY)
    cache_ttl = models.PositiveIntegerField(null=True, blank=True,
                                            help_text="seconds of the response cache; null: GATEWAY_CACHE_TTL")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "deleted_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class UserUpstreamKey(models.Model):
    """A user's own OpenRouter key (BYOK), encrypted at rest."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="upstream_key")
    encrypted = models.TextField()
    last4 = models.CharField(max_length=4)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"BYOK key of user {self.user_id} (…{self.last4})"


class UpstreamKey(models.Model):
    """A server-side upstream key in the pool, encrypted at rest.

    Keys with the same ``account`` share one upstream account and so its limits.
    """

    label = models.CharField(max_length=100, blank=True)
    provider = models.CharField(max_length=50, default="openrouter")
    account = models.CharField(max_length=100, blank=True)
    encrypted = models.TextField()
    key_hash = models.CharField(max_length=64, unique=True)
    last4 = models.CharField(max_length=4)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The account's known free-tier limits, when they differ from OPENROUTER_FREE_RPM / _RPD (null: the default).
    free_rpm = models.PositiveIntegerField(null=True, blank=True)
    free_rpd = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.label or self.provider} (…{self.last4})"


class DeviceCode(models.Model):
    """One device-authorization request (RFC 8628 style)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DENIED = "denied"
        CONSUMED = "consumed"

    device_code_hash = models.CharField(max_length=64, unique=True)
    user_code = models.CharField(max_length=9, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE)
    interval = models.PositiveIntegerField(default=5)
    expires_at = models.DateTimeField()
    last_polled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"device code {self.user_code} ({self.status})"


class CreditAccount(models.Model):
    """A user's credit balance; ``reserved`` is held by requests in flight."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="credit_account")
    balance = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    reserved = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"credits of user {self.user_id}: {self.balance}"


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        TOPUP = "topup"
        CHARGE = "charge"
        REFUND = "refund"
        ADJUSTMENT = "adjustment"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="ledger")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=6)
    balance_after = models.DecimalField(max_digits=14, decimal_places=6)
    note = models.CharField(max_length=255, blank=True)
    request_id = models.CharField(max_length=40, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} for user {self.user_id}"


class BudgetUsage(models.Model):
    """Spend and in-flight reservations of one budget (a key's or a user's) in one period."""

    scope = models.CharField(max_length=30)  # "user:<id>" or "key:<id>"
    period = models.CharField(max_length=10)  # "2026-11-23", "2026-11" or "total"
    spent = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    reserved = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "period"], name="uniq_budget_scope_period")]

    def __str__(self) -> str:
        return f"{self.scope} {self.period}: spent {self.spent}"
