"""Celery tasks of the catalog (beat runs ``sync_models_task`` every ``CATALOG_SYNC_HOURS``)."""

from __future__ import annotations

from celery import shared_task

from models_catalog import services


@shared_task(name="models_catalog.tasks.sync_models_task")
def sync_models_task(provider_slug: str | None = None) -> dict:
    """Sync one provider's models list, or every enabled provider's; failures are recorded, not raised."""
    services.catalog_seed()
    if provider_slug is None:
        return services.catalog_sync_all()
    try:
        return {provider_slug: services.catalog_sync(provider_slug=provider_slug)}
    except services.SyncError as exc:
        return {provider_slug: f"failed: {exc}"}
