"""Reads of request traces: one request's events (its log row's ``trace``), and who a live filter names."""

from __future__ import annotations

from chat.models import RequestLog
from gateway_project.errors import ApiError
from gateway_project.validators import EMAIL_MAX_LENGTH

REQUEST_ID_CHARS = 40  # RequestLog.request_id
FILTER_CHARS = 200


def trace_get(*, request_id: str, user_id: int | None = None) -> RequestLog | None:
    """The log row of ``request_id``; with ``user_id``, another user's request looks absent."""
    if not request_id or len(request_id) > REQUEST_ID_CHARS:
        return None
    rows = RequestLog.objects.filter(request_id=request_id)
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    return rows.first()


def trace_out(row: RequestLog) -> dict:
    return {
        "requestId": row.request_id,
        "createdAt": row.created_at.isoformat(),
        "userId": row.user_id,
        "keyPrefix": row.key_prefix,
        "source": row.source,
        "modelRequested": row.model_requested,
        "modelUsed": row.model_used,
        "status": row.status,
        "events": [e for e in row.trace or [] if isinstance(e, dict)],
    }


def live_filter_user(raw: str) -> int | None:
    """A live view's ``user`` filter (an id or an email) as a user id; raise ``ApiError`` (400) when malformed.

    An email nobody has is ``-1``: a filter that matches nothing, as the log list's does.
    """
    from accounts.models import User

    raw = raw.strip()
    if not raw:
        return None
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    if "@" in raw and len(raw) <= EMAIL_MAX_LENGTH:
        found = User.objects.filter(email__iexact=raw).values_list("id", flat=True).first()
        return found if found is not None else -1
    raise ApiError("user must be a user id or an email address.", status_code=400, extra={"param": "user"})


def timeline(events: list) -> list[dict]:
    """The events as lines of the log detail's timeline: the type, when, and what it says in words."""
    lines = []
    for e in events or []:
        if not isinstance(e, dict):
            continue
        kind = e.get("type", "")
        if kind == "accepted":
            detail = f"{e.get('model') or '—'} from {e.get('source', '')}{' · stream' if e.get('stream') else ''}"
        elif kind == "admitted":
            left = ", ".join(f"{k} {v}" for k, v in (e.get("limitsLeft") or {}).items())
            detail = f"limits left: {left or '—'}" + (f" · ${e['reserved']} held" if e.get("reserved") else "")
        elif kind == "attempt":
            detail = (f"{e.get('model')} on {e.get('account')} ({e.get('key')}): {e.get('status') or '—'} in "
                      f"{e.get('latencyMs')} ms · {e.get('verdict') or ''} {e.get('reason') or ''}").strip()
        elif kind == "first_byte":
            detail = f"after {e.get('ttftMs')} ms"
        else:
            tokens = e.get("tokens") or {}
            detail = (f"status {e.get('status')} · {e.get('modelUsed') or '—'} · {tokens.get('total', 0)} tokens · "
                      f"${e.get('cost', '0')}" + (f" · {e.get('code')}: {e.get('reason')}" if e.get("code") else ""))
        lines.append({"type": kind, "atMs": e.get("atMs"), "detail": detail})
    return lines
