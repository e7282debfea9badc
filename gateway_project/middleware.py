"""Request id on every page and API response (the /v1 path sets its own)."""

from __future__ import annotations

import secrets

from asgiref.sync import iscoroutinefunction, markcoroutinefunction


def new_request_id() -> str:
    """Return a fresh request id: pages, the management API and /v1 (``chat.proxy.exchange``) all use this one."""
    return "req_" + secrets.token_hex(12)


class RequestIdMiddleware:
    """Give every response an ``x-request-id`` (sync- and async-capable)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        request.request_id = new_request_id()
        response = self.get_response(request)
        response["x-request-id"] = request.request_id
        return response

    async def __acall__(self, request):
        request.request_id = new_request_id()
        response = await self.get_response(request)
        response["x-request-id"] = request.request_id
        return response
