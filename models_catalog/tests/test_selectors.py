"""The in-process catalog snapshot never keeps rows that were not committed."""

from __future__ import annotations

import pytest
from django.db import transaction

from models_catalog import selectors
from models_catalog.models import CatalogModel
from models_catalog.services import model_toggle
from testing.factories import sync_catalog

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"


class Rollback(Exception):
    pass


def test_a_writer_sees_its_own_change_and_a_rollback_leaves_no_trace_in_the_snapshot(transactional_db, sim):
    sync_catalog()
    assert selectors.snapshot().models[LLAMA].enabled  # cached
    with pytest.raises(Rollback), transaction.atomic():
        model_toggle(model=CatalogModel.objects.get(model_id=LLAMA), enabled=False)
        assert not selectors.snapshot().models[LLAMA].enabled  # read through the writer's own connection
        raise Rollback
    assert selectors.snapshot().models[LLAMA].enabled


def test_a_committed_change_replaces_the_cached_snapshot_at_once(transactional_db, sim):
    sync_catalog()
    assert selectors.snapshot().models[LLAMA].enabled
    with transaction.atomic():
        model_toggle(model=CatalogModel.objects.get(model_id=LLAMA), enabled=False)
    assert not selectors.snapshot().models[LLAMA].enabled
