"""The Django admin's model page offers the sync button and shows why the last sync failed."""

from __future__ import annotations

import pytest

from models_catalog.services import catalog_seed, catalog_sync
from models_catalog.sync import SyncError
from testing.factories import make_user


def test_model_page_has_the_sync_button_and_the_last_sync_error(db, sim, client):
    catalog_seed()
    sim.configure(models_fault=503)
    with pytest.raises(SyncError):
        catalog_sync()
    client.force_login(make_user(admin=True))
    page = client.get("/django-admin/models_catalog/catalogmodel/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-url="/api/admin/sync-models"' in html
    assert "HTTP 503" in html
