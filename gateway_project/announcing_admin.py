"""A Django admin class whose changes reach every gateway process's caches, after they commit."""

from __future__ import annotations

from django.contrib import admin

from gateway_project import invalidation


class AnnouncingAdmin(admin.ModelAdmin):
    """Announce ``announces`` after every save or delete made in the admin.

    The admin's change, add and delete views run inside a transaction, so the
    announcement goes out when it commits (see ``invalidation.announce``).
    Admin actions that call a service need nothing more: the service announces.
    """

    announces: tuple[str, ...] = ()

    def _announce(self) -> None:
        for topic in self.announces:
            invalidation.announce(topic)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._announce()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self._announce()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        self._announce()
