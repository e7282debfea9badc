"""Reads of the request log: filtered lists, one row, and CSV rows for the export.

Filters come from query strings (the REST API and the console pages share them):
``user`` (id or email), ``model`` (part of the model requested or used, any case), ``status`` (a code,
``ok`` or ``error``), ``from`` and ``to`` (ISO dates or datetimes; a bare ``to``
date includes that whole day).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from chat.models import RequestLog
from gateway_project.errors import ApiError
from gateway_project.validators import EMAIL_MAX_LENGTH, integer_range

FILTER_NAMES = ("user", "model", "status", "from", "to")
OK_Q = Q(status__gte=200, status__lt=400)
ERROR_Q = ~OK_Q  # refusals, upstream failures, and 0 for a request that never got an answer
MAX_ID = integer_range(RequestLog, "id")[1]  # every primary key, a user's too, is a BigAutoField


@dataclass(frozen=True)
class LogFilters:
    """Validated filters; ``None``/empty means "no filter"."""

    user: str = ""
    model: str = ""
    status: str = ""
    start: datetime | None = None
    end: datetime | None = None  # exclusive
    from_text: str = ""  # as the caller wrote them, for links and forms that keep the filters
    to_text: str = ""

    def as_query(self) -> dict[str, str]:
        """The filters as query parameters (for links that keep them)."""
        out = {"user": self.user, "model": self.model, "status": self.status, "from": self.from_text, "to": self.to_text}
        return {k: v for k, v in out.items() if v}


def _moment(raw: str, name: str, *, end: bool) -> datetime:
    try:
        day = parse_date(raw) if len(raw) == 10 else None
        parsed = None if day else parse_datetime(raw)
    except ValueError:  # well-formed but impossible, such as 2026-13-45
        day = parsed = None
    if day is None and parsed is None:
        raise ApiError(f"{name} must be an ISO date or datetime, such as 2026-01-31.", status_code=400,
                       extra={"param": name})
    try:
        if day is not None:
            return datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=UTC)
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, UTC)
        return parsed.astimezone(UTC) + timedelta(microseconds=1) if end else parsed.astimezone(UTC)
    except OverflowError:  # such as to=9999-12-31: the day after has no date
        raise ApiError(f"{name} is out of range; use a date before 9999-12-31.", status_code=400,
                       extra={"param": name}) from None


def _ascii_number(text: str) -> bool:
    """Say whether ``text`` is a plain decimal number (``"²"`` and ``"١"`` are digits to ``str.isdigit``)."""
    return text.isascii() and text.isdigit()


def log_filters_parse(params: Mapping[str, str]) -> LogFilters:
    """Validate query parameters into ``LogFilters``; raise ``ApiError`` (400) naming the bad one."""
    raw = {name: str(params.get(name) or "").strip() for name in FILTER_NAMES}
    status = raw["status"].lower()
    if status and status not in ("ok", "error") and not (_ascii_number(status) and int(status) <= 999):
        raise ApiError("status must be an HTTP status code, 'ok' or 'error'.", status_code=400, extra={"param": "status"})
    user = raw["user"]
    if user and not (_ascii_number(user) and int(user) <= MAX_ID) and not ("@" in user and len(user) <= EMAIL_MAX_LENGTH):
        raise ApiError("user must be a user id or an email address.", status_code=400, extra={"param": "user"})
    start = _moment(raw["from"], "from", end=False) if raw["from"] else None
    end = _moment(raw["to"], "to", end=True) if raw["to"] else None
    if start and end and start >= end:
        raise ApiError("from must be before to.", status_code=400, extra={"param": "from"})
    return LogFilters(user=user, model=raw["model"][:200], status=status, start=start, end=end,
                      from_text=raw["from"], to_text=raw["to"])


def request_log_list(*, filters: LogFilters | None = None, user_id: int | None = None) -> QuerySet[RequestLog]:
    """Rows newest first, filtered; with ``user_id`` only that user's rows."""
    rows = RequestLog.objects.all().order_by("-created_at", "-id")
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    f = filters or LogFilters()
    if f.user:
        rows = rows.filter(user_id=int(f.user)) if _ascii_number(f.user) else rows.filter(user__email__iexact=f.user)
    if f.model:
        rows = rows.filter(Q(model_used__icontains=f.model) | Q(model_requested__icontains=f.model))
    if f.status == "ok":
        rows = rows.filter(OK_Q)
    elif f.status == "error":
        rows = rows.filter(ERROR_Q)
    elif f.status:
        rows = rows.filter(status=int(f.status))
    if f.start:
        rows = rows.filter(created_at__gte=f.start)
    if f.end:
        rows = rows.filter(created_at__lt=f.end)
    return rows


def request_log_get(*, log_id: int, user_id: int | None = None) -> RequestLog | None:
    """One row by id; with ``user_id``, another user's row looks absent."""
    rows = RequestLog.objects.select_related("user")
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    return rows.filter(pk=log_id).first()


def request_log_user_emails(*, rows: list[RequestLog]) -> dict[int, str]:
    """Emails of the users of ``rows`` in one query (a page of logs names its users)."""
    from accounts.models import User

    ids = {r.user_id for r in rows if r.user_id}
    return dict(User.objects.filter(id__in=ids).values_list("id", "email")) if ids else {}


# ---------------------------------------------------------------- CSV export

CSV_COLUMNS = (
    ("id", "id"), ("createdAt", "created_at"), ("requestId", "request_id"), ("userId", "user_id"),
    ("userEmail", "user__email"), ("keyPrefix", "key_prefix"), ("source", "source"), ("endpoint", "endpoint"),
    ("modelRequested", "model_requested"), ("modelUsed", "model_used"), ("stream", "stream"), ("status", "status"),
    ("errorType", "error_type"), ("promptTokens", "prompt_tokens"), ("completionTokens", "completion_tokens"),
    ("totalTokens", "total_tokens"), ("cost", "cost"), ("ttftMs", "ttft_ms"), ("latencyMs", "latency_ms"),
    ("cacheHit", "cache_hit"), ("clientDisconnected", "client_disconnected"),
)
EXPORT_CHUNK = 2000


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):  # a plain decimal: str(Decimal) says 0E-8 for a zero of eight places
        return format(value, "f")
    text = str(value)
    # A spreadsheet runs a cell that starts like a formula; quote it so it stays text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def request_log_csv_pieces(*, rows: QuerySet[RequestLog]) -> Iterator[bytes]:
    """Yield the CSV of ``rows`` (header first) in pieces of ``EXPORT_CHUNK`` rows.

    Rows come through a server-side cursor (``.iterator(chunk_size=...)``) as
    plain tuples from ``values_list``, so memory stays flat however many rows match.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([name for name, _ in CSV_COLUMNS])
    pending = 0
    for values in rows.values_list(*(field for _, field in CSV_COLUMNS)).iterator(chunk_size=EXPORT_CHUNK):
        writer.writerow([_cell(v) for v in values])
        pending += 1
        if pending >= EXPORT_CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode()


async def request_log_csv(*, rows: QuerySet[RequestLog]) -> AsyncIterator[bytes]:
    """See request_log_csv_pieces(); async, one piece per hop to the request's database thread.

    Django under ASGI would first collect a synchronous iterator into one list,
    and ``aiterator()`` on ``values_list`` runs its query on the event loop; so
    the synchronous generator is pulled here piece by piece.
    """
    pieces = request_log_csv_pieces(rows=rows)
    pull = sync_to_async(next)
    try:
        while (piece := await pull(pieces, None)) is not None:
            yield piece
    finally:
        await sync_to_async(pieces.close)()
