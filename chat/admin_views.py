"""Admin console pages of the request log: the dashboard (with the response cache's clear button), the log list
and one request's detail."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import admin_page
from chat import log_selectors, stats, trace_selectors
from chat.log_apis import attempt_out
from chat.proxy import cache as response_cache
from gateway_project.errors import ApiError, found

CHART_W, CHART_H, CHART_TOP = 560, 140, 16
LOG_PAGE_SIZE = 50
SERIES = (("requests", "Requests"), ("tokens", "Tokens"), ("errors", "Errors"), ("cost", "Cost (USD)"))


def bar_chart(days: list[dict], key: str) -> list[dict]:
    """Geometry of one inline-SVG bar per day (x, y, width, height in the chart's viewBox)."""
    values = [day[key] for day in days]
    peak = max(values, default=0) or 1
    slot = CHART_W / max(len(days), 1)
    bars = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        height = round(float(Decimal(value) / Decimal(peak)) * (CHART_H - CHART_TOP), 1)
        bars.append({"x": round(i * slot + slot * 0.15, 1), "y": round(CHART_H - height, 1), "w": round(slot * 0.7, 1),
                     "h": height, "date": day["date"], "value": value})
    return bars


@require_GET
@admin_page
def dashboard_page(request: HttpRequest) -> HttpResponse:
    result = stats.admin_stats(days=14)
    charts = [{"key": key, "title": title, "total": result["totals"][key], "bars": bar_chart(result["days"], key),
               "first": result["days"][0]["date"], "last": result["days"][-1]["date"]} for key, title in SERIES]
    return render(request, "console/dashboard.html",
                  {"stats": result, "charts": charts, "chart_w": CHART_W, "chart_h": CHART_H})


@require_POST
@admin_page
def cache_clear(request: HttpRequest) -> HttpResponse:
    cleared = response_cache.clear()
    messages.success(request, f"Response cache cleared: {cleared} answer{'s' if cleared != 1 else ''} dropped.")
    return redirect("console-dashboard")


@require_GET
@admin_page
def logs_page(request: HttpRequest) -> HttpResponse:
    error = ""
    try:
        filters = log_selectors.log_filters_parse(request.GET)
    except ApiError as exc:
        error, filters = exc.message, log_selectors.LogFilters()
    page = Paginator(log_selectors.request_log_list(filters=filters), LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    emails = log_selectors.request_log_user_emails(rows=rows)
    query = filters.as_query()
    context = {
        "page": page,
        "rows": [{"row": r, "email": emails.get(r.user_id, "")} for r in rows],
        "filters": query,
        "query": urlencode(query),
        "error": error,
        "status_choices": ["", "ok", "error", "200", "400", "401", "402", "404", "429", "500", "502", "503"],
    }
    # htmx swaps the filters and the table together, so Back restores both; a history
    # restore (Back after the cache dropped the page) needs the whole page.
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, "console/logs.html#view" if partial else "console/logs.html", context,
                      status=400 if error else 200)
    if partial:  # the address the table now shows, set by the server so it is never one step behind
        shown = {**query, **({"page": str(page.number)} if page.number > 1 else {})}
        response["HX-Push-Url"] = request.path + (f"?{urlencode(shown)}" if shown else "")
    return response


@require_GET
@admin_page
def log_detail_page(request: HttpRequest, log_id: int) -> HttpResponse:
    row = found(log_selectors.request_log_get(log_id=log_id), "No such request.")
    attempts = [attempt_out(a) for a in row.attempts or [] if isinstance(a, dict)]
    return render(request, "console/log_detail.html", {"row": row, "attempts": attempts,
                                                       "timeline": trace_selectors.timeline(row.trace)})
