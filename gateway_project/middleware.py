"""Request id on every page and API response (the /v1 path sets its own)."""

from __future__ import annotations

import secrets

from asgiref.sync import iscoroutinefunction, markcoroutinefunction


def new_request_id() -> str:
    """Return a fresh request id: pages, the management API and /v1 (``chat.proxy.exchange``) all use this one."""
    return "req_" + secrets.token_hex(12)


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
