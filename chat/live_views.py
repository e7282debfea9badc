"""The Live pages: requests as they happen, updating in place (htmx SSE extension, no inline script).

Admins watch every request at ``/console/live/``; a user watches their own at
``/usage/live/``. The page only lays out the table and the filters; the rows
come from the trace stream (``chat/trace_consumers.py``, ``format=html``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.permissions import admin_page
from chat import trace_selectors
from gateway_project.errors import ApiError


def _live(request: HttpRequest, *, template: str, stream: str, names: tuple[str, ...]) -> HttpResponse:
    filters = {n: str(request.GET.get(n) or "").strip()[:trace_selectors.FILTER_CHARS] for n in names}
    error = ""
    if filters.get("user"):
        try:
            trace_selectors.live_filter_user(filters["user"])
        except ApiError as exc:
            error = exc.message
    query = urlencode({"format": "html", **{k: v for k, v in filters.items() if v}})
    return render(request, template, {"filters": filters, "stream_url": "" if error else f"{stream}?{query}",
                                      "error": error}, status=400 if error else 200)


@require_GET
@admin_page
def live_page(request: HttpRequest) -> HttpResponse:
    return _live(request, template="console/live.html", stream="/api/admin/traces/stream",
                 names=("user", "key", "model"))


@require_GET
@login_required
def usage_live_page(request: HttpRequest) -> HttpResponse:
    return _live(request, template="chat/live.html", stream="/api/traces/stream", names=("key", "model"))
