"""Providers, their models, aliases, presets, per-user choices and per-model usage limits."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models


class Provider(models.Model):
    class Kind(models.TextChoices):
        OPENROUTER = "openrouter", "OpenRouter"
        OPENAI = "openai", "OpenAI-compatible"
        ANTHROPIC = "anthropic", "Anthropic Messages API"

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OPENAI)
    base_url = models.URLField(max_length=300, blank=True, help_text="empty: OPENROUTER_BASE_URL for OpenRouter")
    api_key_encrypted = models.TextField(blank=True)
    api_key_last4 = models.CharField(max_length=4, blank=True)
    enabled = models.BooleanField(default=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_error = models.TextField(blank=True)
    last_sync_summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class CatalogModel(models.Model):
    """One upstream model. Prices are USD per token, as decimals."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="models")
    model_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    canonical_slug = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    context_length = models.PositiveIntegerField(null=True, blank=True)
    prompt_price = models.DecimalField(max_digits=20, decimal_places=12, default=Decimal("0"))
    completion_price = models.DecimalField(max_digits=20, decimal_places=12, default=Decimal("0"))
    price_overridden = models.BooleanField(default=False, help_text="an admin set the prices; sync keeps them")
    input_modalities = models.JSONField(default=list, blank=True)
    output_modalities = models.JSONField(default=list, blank=True)
    supports_tools = models.BooleanField(default=False)
    free = models.BooleanField(default=False)
    enabled = models.BooleanField(default=False)
    listed = models.BooleanField(default=True, help_text="present in the provider's latest models list")
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model_id"]
        constraints = [models.UniqueConstraint(fields=["provider", "model_id"], name="uniq_provider_model")]

    def __str__(self) -> str:
        return self.model_id


class Strategy(models.TextChoices):
    """How a route with several models orders them (chat/proxy/strategies.py)."""

    ORDERED = "ordered", "In the order given"
    CHEAPEST = "cheapest", "Cheapest first"
    FASTEST = "fastest", "Fastest first (time to first token)"
    MOST_AVAILABLE = "most-available", "Most remaining capacity first"


class Alias(models.Model):
    """A public name (``gpt-4o``) for a catalog model, with fallbacks tried in order."""

    alias = models.CharField(max_length=200, unique=True)
    model_id = models.CharField(max_length=200)
    fallbacks = models.JSONField(default=list, blank=True)
    strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.ORDERED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "aliases"

    def __str__(self) -> str:
        return self.alias


class Preset(models.Model):
    """``@preset/<name>``: a model, fallbacks and default parameters."""

    name = models.SlugField(max_length=100, unique=True)
    model_id = models.CharField(max_length=200)
    fallbacks = models.JSONField(default=list, blank=True)
    params = models.JSONField(default=dict, blank=True)
    strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.ORDERED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"@preset/{self.name}"


class UserModelChoice(models.Model):
    """A user's own on/off toggle for an enabled catalog model ("My models")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="model_choices")
    model = models.ForeignKey(CatalogModel, on_delete=models.CASCADE, related_name="user_choices")
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "model"], name="uniq_user_model_choice")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.model_id}={'on' if self.enabled else 'off'}"


class UsageLimit(models.Model):
    """Requests and tokens a user may use per UTC day; ``model`` null is the default for every model."""

    model = models.OneToOneField(CatalogModel, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="usage_limit")
    max_requests_per_day = models.PositiveIntegerField(null=True, blank=True)
    max_tokens_per_day = models.PositiveBigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"limit for {self.model or 'every model'}"
