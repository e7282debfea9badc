from rest_framework.permissions import BasePermission


class IsAdmin(BasePermission):
    """Role admin; anyone else gets 403 (anonymous callers get 401 first)."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_admin)
