"""Request id on every page and API response (the /v1 path sets its own); 503 when the database is down."""

from __future__ import annotations

import secrets

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse

from gateway_project.errors import api_error_response, is_api_request
from gateway_project.logging_json import REQUEST_ID


def new_request_id() -> str:
    """Return a fresh request id: pages, the management API and /v1 (``chat.proxy.exchange``) all use this one.

    It is also the id every log line written from here on in this context carries (``logging_json``).
    """
    request_id = "req_" + secrets.token_hex(12)
    REQUEST_ID.set(request_id)
    return request_id


class SyncAsyncMiddleware:
    """A middleware both sync- and async-capable: subclasses write ``handle`` and ``ahandle``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.ahandle(request)
        return self.handle(request)

    def handle(self, request):
        raise NotImplementedError

    async def ahandle(self, request):
        raise NotImplementedError


class RequestIdMiddleware(SyncAsyncMiddleware):
    """Give every response an ``x-request-id``."""

    def handle(self, request):
        request.request_id = new_request_id()
        response = self.get_response(request)
        response["x-request-id"] = request.request_id
        return response

    async def ahandle(self, request):
        request.request_id = new_request_id()
        response = await self.get_response(request)
        response["x-request-id"] = request.request_id
        return response


class DatabaseUnavailableMiddleware(SyncAsyncMiddleware):
    """Answer 503 when the database cannot be reached, in the API's shape under /api/ and as a plain page
    elsewhere, instead of a 500: the outage is the dependency's, it says nothing about the request."""

    def handle(self, request):
        return self.get_response(request)

    async def ahandle(self, request):
        return await self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_UNREACHABLE):
            return None
        if is_api_request(request):
            response = api_error_response(DATABASE_DOWN_MESSAGE, status=503)
        else:  # no template: the page layout reads the session, which needs the database
            response = HttpResponse(_DOWN_PAGE, status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = "5"
        return response


DATABASE_UNREACHABLE = (OperationalError, InterfaceError)
DATABASE_DOWN_MESSAGE = "The database is unreachable right now; try again in a few seconds."
_DOWN_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unavailable</title></head>'
    f"<body><h1>Unavailable</h1><p>{DATABASE_DOWN_MESSAGE}</p></body></html>"
)
