"""The one place that reads the environment.

Every other module reads ``django.conf.settings`` (or, on the /v1 hot path,
the ``Config`` object built here). Defaults make the embedded mode work with
nothing set: SQLite, in-process cache, Celery tasks run inline, development
secrets generated once into an ignored local file.

The variables come from the real environment over the checkout's ``.env`` file
(``GATEWAY_ENV_FILE`` names another file; empty turns the file off), so what
``make run`` writes there is found by every command run in the checkout.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import secrets
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from dotenv import dotenv_values

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_SECRETS_FILE = BASE_DIR / ".local-secrets.json"
ENV_FILE = BASE_DIR / ".env"

OPENROUTER_DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
OPENROUTER_FREE_RPM = 20  # OpenRouter's free tier: requests a minute per account
OPENROUTER_FREE_RPD = 50  # ...and a day (1000 for accounts that bought credits)
OPENROUTER_APP_URL = "https://github.com/llm-gateway"
OPENROUTER_APP_NAME = "LLM Gateway"
DEFAULT_RPM = 600
DEFAULT_TPM = 1_000_000
# Upstream paths under /v1 that the pass-through forwards (prefixes, segment by segment).
DEFAULT_PASSTHROUGH_PATHS = ("providers",)
_PASSTHROUGH_PATH = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_:.-]+)*$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
# The quota a self-registered account gets on the server pool (0 turns either off).
USER_DEFAULT_RPM = 30
USER_DEFAULT_DAILY_REQUESTS = 500
HSTS_DEFAULT_SECONDS = 31_536_000  # one year
DEFAULT_RESPONSES_TTL_S = 7 * 86_400  # how long a stored /v1/responses answer can be continued or fetched

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_WEAK_SECRET_MARKERS = ("changeme", "change-me", "insecure", "secret", "password", "django-insecure")


class ConfigError(RuntimeError):
    """A required setting is missing or unusable; the message names the variable and the fix."""


def exit_with(error: ConfigError) -> NoReturn:
    """Print ``error`` as one line on stderr, without a traceback, and exit with status 2."""
    print(f"configuration error: {error}", file=sys.stderr)
    raise SystemExit(2)


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: dict[str, str], name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _passthrough_paths(env: dict[str, str]) -> tuple[str, ...]:
    raw = env.get("GATEWAY_PASSTHROUGH_PATHS")
    if raw is None:
        return DEFAULT_PASSTHROUGH_PATHS
    paths = tuple(p.strip("/") for p in _csv(raw))
    for path in paths:
        if not _PASSTHROUGH_PATH.match(path) or any(part in (".", "..") for part in path.split("/")):
            raise ConfigError(f"GATEWAY_PASSTHROUGH_PATHS: {path!r} is not a plain path under /v1 "
                              "(letters, digits, '-', '_' and '/' between segments, such as 'providers')")
    return paths
def _cors_origins(env: dict[str, str]) -> tuple[str, ...]:
    """``GATEWAY_CORS_ORIGINS``: ``*`` or origins such as ``https://app.example.com`` (scheme, host, port)."""
    origins = tuple(o.rstrip("/") for o in _csv(env.get("GATEWAY_CORS_ORIGINS")))
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise ConfigError(f"GATEWAY_CORS_ORIGINS: {origin!r} is not '*' or an origin such as "
                              "'https://app.example.com' (scheme, host and optional port, no path)")
    return origins


def _networks(env: dict[str, str], name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Parse comma-separated IP addresses and CIDR blocks (a bare address is a one-address network)."""
    networks = []
    for part in _csv(env.get(name)):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ConfigError(f"{name} must be comma-separated IP addresses or CIDR blocks, got {part!r}") from exc
    return tuple(networks)


def _otel_endpoint(env: dict[str, str]) -> str | None:
    raw = (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "").strip()
    if raw and not re.match(r"^https?://[^/\s]+", raw):
        raise ConfigError(f"OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s):// URL such as http://127.0.0.1:4318, got {raw!r}")
    return raw or None


def _local_secrets() -> dict[str, str]:
    """Return development secrets, generating them once into an ignored file."""
    if LOCAL_SECRETS_FILE.exists():
        data = json.loads(LOCAL_SECRETS_FILE.read_text())
    else:
        data = {}
    wanted = {
        "DJANGO_SECRET_KEY": lambda: secrets.token_urlsafe(50),
        "JWT_SECRET": lambda: secrets.token_urlsafe(48),
        "ENCRYPTION_MASTER_KEY": lambda: secrets.token_hex(32),
    }
    changed = False
    for name, make in wanted.items():
        if name not in data:
            data[name] = make()
            changed = True
    if changed:
        tmp = LOCAL_SECRETS_FILE.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.chmod(0o600)
        tmp.replace(LOCAL_SECRETS_FILE)
    return data


def _require_strong(env: dict[str, str]) -> None:
    """Refuse to start without DEBUG unless every required secret is present and strong."""
    key = env.get("DJANGO_SECRET_KEY", "")
    if len(key) < 50 or len(set(key)) < 5 or any(m in key.lower() for m in _WEAK_SECRET_MARKERS):
        raise ConfigError(
            "DJANGO_SECRET_KEY is missing or weak (need 50+ random characters); make one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    jwt = env.get("JWT_SECRET", "")
    if len(jwt.encode()) < 32:
        raise ConfigError(
            "JWT_SECRET is missing or shorter than 32 bytes; make one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    master = env.get("ENCRYPTION_MASTER_KEY", "")
    if not _HEX64.match(master):
        raise ConfigError(
            "ENCRYPTION_MASTER_KEY must be 64 hex characters (32 bytes); make one with: "
            "python -c 'import secrets; print(secrets.token_hex(32))'"
        )


@dataclass(frozen=True)
class Config:
    debug: bool
    secret_key: str
    jwt_secret: str
    encryption_master_key: str
    encryption_previous_keys: list[str]
    allowed_hosts: list[str]
    database_url: str
    redis_url: str | None
    celery_broker_url: str | None
    openrouter_base_url: str
    openrouter_api_keys: list[str]
    admin_email: str
    admin_password: str | None
    default_rpm: int
    default_tpm: int
    max_body_bytes: int
    upstream_timeout_s: float
    request_deadline_s: float
    max_attempts: int
    redis_failure_mode: str
    log_bodies: bool
    log_retention_days: int
    log_flush_interval_s: float
    log_batch_size: int
    log_queue_max: int
    log_queue: str  # "memory": this process writes its rows; "redis": a stream that write_request_logs drains
    auth_cache_ttl_s: float
    health_cache_ttl_s: float
    catalog_cache_ttl_s: float
    catalog_sync_hours: float
    default_max_tokens_reserve: int
    registration_open: bool
    user_default_rpm: int
    user_default_daily_requests: int
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    secure_cookies: bool
    hsts_seconds: int
    hsts_include_subdomains: bool
    https_redirect: bool
    agent_max_tool_rounds: int
    agent_max_models: int
    orchestrator_max_models: int
    orchestrator_default_models: int
    synthesis_max_models: int
    passthrough: bool = True
    otel_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT: spans of each request (chat/proxy/trace_otel.py)
    cache_ttl_s: int = 0
    passthrough_paths: tuple[str, ...] = DEFAULT_PASSTHROUGH_PATHS
    cors_origins: tuple[str, ...] = ()
    openrouter_free_rpm: int = OPENROUTER_FREE_RPM  # known free-tier limits of an upstream account (0: none)
    openrouter_free_rpd: int = OPENROUTER_FREE_RPD
    openrouter_app_url: str = OPENROUTER_APP_URL  # the attribution headers HTTP-Referer and X-Title
    openrouter_app_name: str = OPENROUTER_APP_NAME
    responses_ttl_s: int = DEFAULT_RESPONSES_TTL_S
    metrics: bool = True
    traces: bool = True  # GATEWAY_TRACES: record each request's events (log rows, the Live page, OpenTelemetry)
    metrics_token: str = ""
    metrics_dir: str = ""
    log_format: str = "plain"

    @property
    def embedded(self) -> bool:
        return self.redis_url is None


def environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the variables to run with: ``env`` (``os.environ`` by default) over the env file's.

    The file is ``GATEWAY_ENV_FILE`` (relative to the checkout; only the real environment
    names it) or the checkout's ``.env``. A missing ``.env`` is no file, a missing named file
    is an error, an empty name turns the file off.
    """
    env = os.environ if env is None else env
    named = env.get("GATEWAY_ENV_FILE")
    if named == "":
        return dict(env)
    path = ENV_FILE if named is None else BASE_DIR / named
    if not path.is_file():
        if named is None:
            return dict(env)
        raise ConfigError(f"GATEWAY_ENV_FILE names {path}, which is not a file; fix the path or set it empty")
    from_file = {name: value for name, value in dotenv_values(path).items() if value is not None}
    return {**from_file, **env}


def load(env: Mapping[str, str] | None = None) -> Config:
    """Build the configuration from ``env`` (by default ``environment()``: the process's and the env file's)."""
    env = environment() if env is None else dict(env)
    debug = _bool(env.get("DJANGO_DEBUG"))
    if not debug:
        _require_strong(env)
        secret_key = env["DJANGO_SECRET_KEY"]
        jwt_secret = env["JWT_SECRET"]
        master = env["ENCRYPTION_MASTER_KEY"]
    else:
        local = _local_secrets() if not all(
            env.get(n) for n in ("DJANGO_SECRET_KEY", "JWT_SECRET", "ENCRYPTION_MASTER_KEY")
        ) else {}
        secret_key = env.get("DJANGO_SECRET_KEY") or local["DJANGO_SECRET_KEY"]
        jwt_secret = env.get("JWT_SECRET") or local["JWT_SECRET"]
        master = env.get("ENCRYPTION_MASTER_KEY") or local["ENCRYPTION_MASTER_KEY"]
        if not _HEX64.match(master):
            raise ConfigError("ENCRYPTION_MASTER_KEY must be 64 hex characters (32 bytes); make one with: "
                              "python -c 'import secrets; print(secrets.token_hex(32))'")
    previous = _csv(env.get("ENCRYPTION_PREVIOUS_KEYS"))
    for old in previous:
        if not _HEX64.match(old):
            raise ConfigError("ENCRYPTION_PREVIOUS_KEYS must be comma-separated 64-hex-character keys")
    failure_mode = env.get("REDIS_FAILURE_MODE", "open").strip().lower()
    if failure_mode not in {"open", "closed"}:
        raise ConfigError("REDIS_FAILURE_MODE must be 'open' or 'closed'")
    log_queue = env.get("GATEWAY_LOG_QUEUE", "memory").strip().lower() or "memory"
    if log_queue not in {"memory", "redis"}:
        raise ConfigError("GATEWAY_LOG_QUEUE must be 'memory' or 'redis'")
    if log_queue == "redis" and not env.get("REDIS_URL"):
        raise ConfigError("GATEWAY_LOG_QUEUE=redis needs REDIS_URL (the rows wait in a Redis stream)")
    return Config(
        debug=debug,
        secret_key=secret_key,
        jwt_secret=jwt_secret,
        encryption_master_key=master.lower(),
        encryption_previous_keys=[k.lower() for k in previous],
        allowed_hosts=_csv(env.get("ALLOWED_HOSTS")) or ["127.0.0.1", "localhost"],
        database_url=env.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        redis_url=env.get("REDIS_URL") or None,
        celery_broker_url=env.get("CELERY_BROKER_URL") or None,
        openrouter_base_url=(env.get("OPENROUTER_BASE_URL") or OPENROUTER_DEFAULT_BASE_URL).rstrip("/"),
        openrouter_api_keys=_csv(env.get("OPENROUTER_API_KEYS")),
        admin_email=env.get("ADMIN_EMAIL") or "admin@localhost",
        admin_password=env.get("ADMIN_PASSWORD") or None,
        default_rpm=_int(env, "GATEWAY_DEFAULT_RPM", DEFAULT_RPM),
        default_tpm=_int(env, "GATEWAY_DEFAULT_TPM", DEFAULT_TPM),
        max_body_bytes=_int(env, "GATEWAY_MAX_BODY_BYTES", 10 * 1024 * 1024),
        upstream_timeout_s=float(env.get("GATEWAY_UPSTREAM_TIMEOUT") or 60),
        request_deadline_s=float(env.get("GATEWAY_REQUEST_DEADLINE") or 120),
        max_attempts=_int(env, "GATEWAY_MAX_ATTEMPTS", 6),
        redis_failure_mode=failure_mode,
        log_bodies=_bool(env.get("GATEWAY_LOG_BODIES"), default=False),
        log_retention_days=_int(env, "GATEWAY_LOG_RETENTION_DAYS", 30),
        log_flush_interval_s=float(env.get("GATEWAY_LOG_FLUSH_INTERVAL") or 0.5),
        log_batch_size=_int(env, "GATEWAY_LOG_BATCH_SIZE", 500),
        log_queue_max=_int(env, "GATEWAY_LOG_QUEUE_MAX", 100_000, minimum=1),
        log_queue=log_queue,
        auth_cache_ttl_s=float(env.get("GATEWAY_AUTH_CACHE_TTL") or 5),
        health_cache_ttl_s=float(env.get("GATEWAY_HEALTH_CACHE_TTL") or 0.25),
        catalog_cache_ttl_s=float(env.get("GATEWAY_CATALOG_CACHE_TTL") or 5),
        catalog_sync_hours=float(env.get("CATALOG_SYNC_HOURS") or 6),
        default_max_tokens_reserve=_int(env, "GATEWAY_DEFAULT_MAX_TOKENS_RESERVE", 4096),
        registration_open=_bool(env.get("GATEWAY_REGISTRATION_OPEN"), default=False),
        user_default_rpm=_int(env, "GATEWAY_USER_DEFAULT_RPM", USER_DEFAULT_RPM, minimum=0),
        user_default_daily_requests=_int(env, "GATEWAY_USER_DEFAULT_DAILY_REQUESTS", USER_DEFAULT_DAILY_REQUESTS,
                                         minimum=0),
        trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
        secure_cookies=_bool(env.get("GATEWAY_SECURE_COOKIES"), default=not debug),
        hsts_seconds=_int(env, "GATEWAY_HSTS_SECONDS", 0 if debug else HSTS_DEFAULT_SECONDS, minimum=0),
        hsts_include_subdomains=_bool(env.get("GATEWAY_HSTS_INCLUDE_SUBDOMAINS"), default=False),
        https_redirect=_bool(env.get("GATEWAY_HTTPS_REDIRECT"), default=False),
        agent_max_tool_rounds=_int(env, "GATEWAY_AGENT_MAX_TOOL_ROUNDS", 4, minimum=0),
        agent_max_models=_int(env, "GATEWAY_AGENT_MAX_MODELS", 4, minimum=1),
        orchestrator_max_models=_int(env, "GATEWAY_ORCHESTRATOR_MAX_MODELS", 6, minimum=1),
        orchestrator_default_models=_int(env, "GATEWAY_ORCHESTRATOR_DEFAULT_MODELS", 3, minimum=1),
        synthesis_max_models=_int(env, "GATEWAY_SYNTHESIS_MAX_MODELS", 3, minimum=1),
        passthrough=_bool(env.get("GATEWAY_PASSTHROUGH"), default=True),
        passthrough_paths=_passthrough_paths(env),
        cors_origins=_cors_origins(env),
        openrouter_free_rpm=_int(env, "OPENROUTER_FREE_RPM", OPENROUTER_FREE_RPM, minimum=0),
        openrouter_free_rpd=_int(env, "OPENROUTER_FREE_RPD", OPENROUTER_FREE_RPD, minimum=0),
        openrouter_app_url=(env.get("OPENROUTER_APP_URL") or OPENROUTER_APP_URL).strip(),
        openrouter_app_name=(env.get("OPENROUTER_APP_NAME") or OPENROUTER_APP_NAME).strip(),
        responses_ttl_s=_int(env, "GATEWAY_RESPONSES_TTL", DEFAULT_RESPONSES_TTL_S, minimum=1),
        metrics=_bool(env.get("GATEWAY_METRICS"), default=True),
        traces=_bool(env.get("GATEWAY_TRACES"), default=True),
        metrics_token=env.get("METRICS_TOKEN") or "",
        metrics_dir=env.get("PROMETHEUS_MULTIPROC_DIR") or _default_metrics_dir(env),
        log_format=_log_format(env, debug),
        otel_endpoint=_otel_endpoint(env),
        cache_ttl_s=_int(env, "GATEWAY_CACHE_TTL", 0, minimum=0),
    )


def _default_metrics_dir(env: Mapping[str, str]) -> str:
    """One directory per deployment (this checkout and its database): its processes' metrics add up there."""
    database = env.get("DATABASE_URL") or "sqlite"
    digest = hashlib.sha256(f"{BASE_DIR}|{database}".encode()).hexdigest()[:12]
    return str(Path(tempfile.gettempdir()) / f"llm-gateway-metrics-{digest}")


def _log_format(env: Mapping[str, str], debug: bool) -> str:
    value = (env.get("LOG_FORMAT") or ("plain" if debug else "json")).strip().lower()
    if value not in {"json", "plain"}:
        raise ConfigError(f"LOG_FORMAT must be 'json' or 'plain', got {value!r}")
    return value
