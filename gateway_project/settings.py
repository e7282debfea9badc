"""Django settings. Values come from ``gateway_project.config``, never from os.environ directly."""

from __future__ import annotations

import logging
from datetime import timedelta

import dj_database_url
from django.utils.csp import CSP

from gateway_project import config as _config
from gateway_project.logging_json import logging_config

GATEWAY = _config.load()
BASE_DIR = _config.BASE_DIR

DEBUG = GATEWAY.debug
SECRET_KEY = GATEWAY.secret_key
ALLOWED_HOSTS = GATEWAY.allowed_hosts
CSRF_TRUSTED_ORIGINS = [f"http://{h}" for h in GATEWAY.allowed_hosts if h != "*"] + [
    f"https://{h}" for h in GATEWAY.allowed_hosts if h != "*"
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "django_htmx",
    "channels",
    "accounts",
    "models_catalog",
    "chat",
    "agent",
    "orchestrator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "gateway_project.middleware.RequestIdMiddleware",
    "gateway_project.middleware.DatabaseUnavailableMiddleware",
    # A throttled page (login, registration) answers 429 through RATELIMIT_VIEW, not a bare 403.
    "django_ratelimit.middleware.RatelimitMiddleware",
    "gateway_project.input_guard.InputGuardMiddleware",
]

ROOT_URLCONF = "gateway_project.urls"
ASGI_APPLICATION = "gateway_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": ["gateway_project.template_filters"],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(GATEWAY.database_url, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

if GATEWAY.redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": GATEWAY.redis_url,
            "KEY_PREFIX": "gw",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "gateway"}}

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send X-CSRFToken
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Pages load scripts only from our own static files: model output rendered in the playground can
# never run script even if it slipped past the escaping renderer. Inline style attributes stay allowed.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True

# Transport security (docs/api.md, "Running behind a TLS proxy"). Whether a request came over HTTPS
# is decided once, by gateway_project/forwarded.py: the connection's own scheme, or X-Forwarded-Proto
# from a TRUSTED_PROXIES peer. So SECURE_PROXY_SSL_HEADER stays unset: Django must not believe the
# header from anyone else. The HTTPS redirect lives there too (it covers /v1 and SSE, not only pages).
SESSION_COOKIE_SECURE = GATEWAY.secure_cookies
CSRF_COOKIE_SECURE = GATEWAY.secure_cookies
SECURE_PROXY_SSL_HEADER = None
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = GATEWAY.hsts_seconds  # sent on HTTPS responses only
SECURE_HSTS_INCLUDE_SUBDOMAINS = GATEWAY.hsts_include_subdomains
SECURE_HSTS_PRELOAD = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ActiveUserJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "gateway_project.pagination.PageSizePagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "gateway_project.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "gateway_project.schema.GatewayAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}

# GET /api/schema/: the management API's OpenAPI document, for any signed-in user (it names fields, no values).
SPECTACULAR_SETTINGS = {
    "TITLE": "LLM Gateway management API",
    "DESCRIPTION": "Accounts, keys, catalog, logs and usage. The OpenAI-compatible /v1 API is documented in docs/api.md.",
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "DISABLE_ERRORS_AND_WARNINGS": True,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=30),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "SIGNING_KEY": GATEWAY.jwt_secret,
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    # Each refresh answers a new refresh token and blacklists the one used (accounts/tokens.py).
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
}

RATELIMIT_VIEW = "gateway_project.errors.ratelimited"
RATELIMIT_USE_CACHE = "default"
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

CHANNEL_LAYERS: dict = {}

CELERY_BROKER_URL = GATEWAY.celery_broker_url or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = GATEWAY.celery_broker_url is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE = {
    "sync-models": {
        "task": "models_catalog.tasks.sync_models_task",
        "schedule": GATEWAY.catalog_sync_hours * 3600,
    },
    "purge-request-logs": {
        "task": "chat.tasks.purge_request_logs_task",
        "schedule": 3600.0,
    },
}

LOGGING = logging_config(GATEWAY.log_format)  # LOG_FORMAT: JSON lines or plain, masked (gateway_project/logging_json.py)
logging.captureWarnings(True)  # Python's warnings become log lines in the same format
