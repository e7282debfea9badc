"""The management API's one error shape: ``{"message", "extra"}``.

The /v1 OpenAI error shape is made in ``chat.proxy.errors``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found, permission_denied, server_error
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

_RATELIMITED = {"message": "Too many attempts; wait a minute and try again.", "extra": {}}


class ApiError(exceptions.APIException):
    """Raise from services or APIs to answer ``{"message", "extra"}`` with ``status_code``."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, status_code: int = 400, extra: dict[str, Any] | None = None):
        super().__init__(detail=message)
        self.status_code = status_code
        self.message = message
        self.extra = extra or {}


class Missing(Http404):
    """What the caller asked for does not exist (or is not theirs to see): 404 with this message, on a page
    (the site's 404 page) or in the API (``{"message", "extra"}``)."""


def found[T](record: T | None, message: str) -> T:
    """Return ``record``; raise ``Missing`` with ``message`` when there is none. The one get-or-404."""
    if record is None:
        raise Missing(message)
    return record


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = _first_message(value)
            return inner if field in ("non_field_errors", "detail") else f"{field}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Turn every API exception into ``{"message", "extra"}`` with the matching status."""
    if isinstance(exc, ApiError):
        return Response({"message": exc.message, "extra": exc.extra}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response({"message": "; ".join(exc.messages), "extra": {}}, status=400)
    if isinstance(exc, Ratelimited):  # a PermissionDenied subclass: must come first
        return Response(_RATELIMITED, status=429)
    if isinstance(exc, Http404):
        message = str(exc) if isinstance(exc, Missing) else "Not found."
        return Response({"message": message, "extra": {}}, status=404)
    if isinstance(exc, PermissionDenied):
        return Response({"message": "You do not have permission to do this.", "extra": {}}, status=403)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        extra = {"fields": exc.detail} if isinstance(exc.detail, dict) else {"errors": exc.detail}
        response.data = {"message": _first_message(exc.detail), "extra": extra}
    elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response.status_code = 401
        response.data = {"message": _first_message(exc.detail), "extra": {}}
    else:
        response.data = {"message": _first_message(getattr(exc, "detail", str(exc))), "extra": {}}
    return response


def ratelimited(request, exception=None) -> JsonResponse:
    """django-ratelimit's view for a blocked request, in the API's error shape."""
    return JsonResponse(_RATELIMITED, status=429)


def api_error_response(message: str, *, status: int = 400, extra: dict[str, Any] | None = None) -> JsonResponse:
    """The ``{"message", "extra"}`` shape for code that answers before DRF runs (middleware)."""
    return JsonResponse({"message": message, "extra": extra or {}}, status=status)


def is_api_request(request: HttpRequest) -> bool:
    """Say whether ``request`` is for the management API (its errors take the API's shape)."""
    return request.path_info.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 (no route matched, such as ``/api/admin/keys/-1``): the API's shape under /api/, else the page."""
    if is_api_request(request):
        return api_error_response("Not found.", status=404)
    return page_not_found(request, exception)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 403 (``PermissionDenied`` in a view): the API's shape under /api/, else the styled page."""
    if is_api_request(request):
        return api_error_response("You do not have permission to do this.", status=403)
    return permission_denied(request, exception)


def failed(request: HttpRequest) -> HttpResponse:
    """Django's 500: the API's shape under /api/, else the styled page (rendered without the request's context)."""
    if is_api_request(request):
        return api_error_response("The gateway failed to answer this request.", status=500)
    return server_error(request)
