"""The one edge guard for text no column can hold, on every page, console and REST request.

Before any view runs it refuses, with 400 naming the field, a request whose path, query
parameters, form fields or JSON body hold a NUL character or an unpaired surrogate (text
PostgreSQL cannot store), whose query parameters hold any other control character (every
query parameter is a one-line filter or search), or whose JSON nests deeper than
``validators.MAX_JSON_DEPTH``. The /v1 hot path is a separate ASGI app with its own edge.
"""

from __future__ import annotations

import json
import re

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from gateway_project.errors import api_error_response, is_api_request
from gateway_project.middleware import SyncAsyncMiddleware
from gateway_project.validators import MAX_JSON_DEPTH, first_unstorable, shown_name, unstorable

QUERY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _json_type(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def _query_problem(text: str) -> str | None:
    if QUERY_CONTROL.search(text):
        return "must not contain control characters"
    return unstorable(text)


def refused_field(request: HttpRequest) -> tuple[str, str] | None:
    """Return ``(field, reason)`` for the first part of ``request`` that cannot be accepted, or None."""
    if reason := unstorable(request.path_info):
        return "path", reason
    for name, values in request.GET.lists():
        for text in (name, *values):
            if reason := _query_problem(text):
                return shown_name(name), reason
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if request.content_type in FORM_TYPES:
        for name, values in request.POST.lists():
            for text in (name, *values):
                if reason := unstorable(text):
                    return shown_name(name), reason
    elif _json_type(request.content_type) and request.body:
        return _json_problem(request.body)
    return None


def _json_problem(body: bytes) -> tuple[str, str] | None:
    try:
        data = json.loads(body)
    except RecursionError:
        return "body", f"is nested deeper than {MAX_JSON_DEPTH} levels"
    except ValueError:
        return None  # not JSON at all: the parser of the view answers that, in its own words
    return first_unstorable(data, "")


def _refusal_message(field: str, reason: str) -> str:
    return f"{field} {reason}." if field == "body" else f"{field}: {reason}."


def refusal(request: HttpRequest, field: str, reason: str) -> HttpResponse:
    """Answer 400 naming ``field``: the management API's shape under /api/, else a page."""
    message = _refusal_message(field or "body", reason)
    if is_api_request(request):
        return api_error_response(message, extra={"param": field or "body"})
    return render(request, "input_refused.html", {"message": message}, status=400)


class InputGuardMiddleware(SyncAsyncMiddleware):
    """Refuse unstorable input before any view runs."""

    def handle(self, request):
        found = refused_field(request)
        if found:
            return refusal(request, *found)
        return self.get_response(request)

    async def ahandle(self, request):
        found = refused_field(request)  # CPU only: the ASGI body is already buffered
        if found:
            # the page's header asks for request.user, a database read: not on the event loop
            return await sync_to_async(refusal)(request, *found)
        return await self.get_response(request)
