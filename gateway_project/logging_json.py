"""Log lines: plain or one JSON object per line (``LOG_FORMAT``), the request id on each, never a secret.

``REQUEST_ID`` is a context variable set where a request id is made
(``gateway_project.middleware.new_request_id``, used by pages, the API and ``/v1``), so
every line written while serving that request carries it, in the request's own task and
in the threads ``sync_to_async`` runs for it. Both formatters mask what they write, the
message and the traceback alike: API keys (``sk-...``: gateway, pool and users' own keys),
JWTs, bearer tokens, ``password=``/``"token": ...`` style values, and the literal secrets of
the configuration (signing and encryption keys, pool keys, the admin password, the metrics
token). Configured in ``settings.LOGGING``.
"""

from __future__ import annotations

import contextvars
import logging
import re
from datetime import UTC, datetime

import orjson

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
MASK = "***"

_PATTERNS = (
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"), "sk-" + MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*"), "[jwt " + MASK + "]"),
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+"), r"\1" + MASK),
    (re.compile(r"(?i)([\"']?\b(?:password|passwd|secret|token|api[_-]?key|apikey|authorization)"
                r"[\"']?\s*[:=]\s*[\"']?)(?!\*\*\*)[^\s\"',&;}]+"), r"\1" + MASK),
)
_MIN_LITERAL = 8


def _configured_secrets() -> list[str]:
    try:
        from django.conf import settings

        cfg = settings.GATEWAY
    except Exception:  # logging before the settings exist
        return []
    values = [cfg.secret_key, cfg.jwt_secret, cfg.encryption_master_key, *cfg.encryption_previous_keys,
              cfg.admin_password or "", cfg.metrics_token]
    for raw in cfg.openrouter_api_keys:
        values.append(raw.partition("=")[2] or raw)
    return sorted({v.strip() for v in values if v and len(v.strip()) >= _MIN_LITERAL}, key=len, reverse=True)


class _Masker:
    def __init__(self) -> None:
        self._literals: list[str] | None = None

    def __call__(self, text: str) -> str:
        if self._literals is None:
            self._literals = _configured_secrets()
        for literal in self._literals:
            if literal in text:
                text = text.replace(literal, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


mask = _Masker()


class PlainFormatter(logging.Formatter):
    """``time level logger [request id] message``, masked."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(request_part)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = REQUEST_ID.get()
        record.request_part = f" [{request_id}]" if request_id else ""
        return mask(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (while serving one), exc_info."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        if record.exc_info:
            line["exc_info"] = mask(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc_info"] = mask(record.exc_text)
        if record.stack_info:
            line["stack_info"] = mask(self.formatStack(record.stack_info))
        return orjson.dumps(line).decode()


def logging_config(log_format: str) -> dict:
    """``settings.LOGGING`` for ``log_format`` (json or plain); uvicorn's own lines go the same way."""
    handler = {"class": "logging.StreamHandler", "formatter": log_format}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"()": PlainFormatter}, "json": {"()": JsonFormatter}},
        "handlers": {"console": handler},
        "root": {"handlers": ["console"], "level": "INFO"},
        "loggers": {
            "django.request": {"level": "ERROR"},
            "httpx": {"level": "WARNING"},
            "httpx2": {"level": "WARNING"},
            "uvicorn": {"handlers": ["console"], "propagate": False},
            "uvicorn.access": {"handlers": ["console"], "propagate": False},
            "py.warnings": {"handlers": ["console"], "propagate": False},  # Django routes warnings to logging
        },
    }
