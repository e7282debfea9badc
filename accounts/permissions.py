import functools
from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission


class IsAdmin(BasePermission):
    """Role admin; anyone else gets 403 (anonymous callers get 401 first)."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_admin)


def admin_page(view: Callable) -> Callable:
    """Guard a page view: anonymous visitors go to the login page, non-admins get 403."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_admin:
            raise PermissionDenied("Admins only.")
        return view(request, *args, **kwargs)

    return guarded
