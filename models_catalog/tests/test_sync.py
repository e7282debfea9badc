"""Sync pulls the simulator's models list into the catalog: all or nothing, never deleting, twins merged."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from models_catalog.models import CatalogModel, Provider
from models_catalog.services import catalog_seed, catalog_sync, models_enable_free
from models_catalog.sync import SyncError
from simulator.catalog import default_models


def _rows() -> list[tuple]:
    return list(CatalogModel.objects.order_by("model_id").values_list(
        "model_id", "enabled", "listed", "free", "prompt_price", "completion_price", "disabled_reason", "name"))


@pytest.fixture
def synced(db, sim):
    catalog_seed()
    return catalog_sync()


def test_new_models_arrive_disabled_for_review(synced):
    assert synced["added"]
    assert CatalogModel.objects.count() == len(synced["added"])
    assert not CatalogModel.objects.filter(enabled=True).exists()
    assert set(CatalogModel.objects.values_list("disabled_reason", flat=True)) == {"new: waiting for review"}


def test_zero_priced_base_beside_its_free_twin_is_merged_into_the_twin(synced):
    ids = set(CatalogModel.objects.values_list("model_id", flat=True))
    assert "google/gemma-3-27b-it:free" in ids
    assert "google/gemma-3-27b-it" not in ids  # zero-priced duplicate of the :free twin
    # A paid twin is a different offer and stays.
    assert {"meta-llama/llama-3.3-70b-instruct", "meta-llama/llama-3.3-70b-instruct:free"} <= ids


def test_prices_are_decimals_and_free_means_every_price_is_zero(synced):
    paid = CatalogModel.objects.get(model_id="meta-llama/llama-3.3-70b-instruct")
    assert paid.prompt_price == Decimal("0.00000013")
    assert paid.completion_price == Decimal("0.0000004")
    assert not paid.free
    assert CatalogModel.objects.get(model_id="meta-llama/llama-3.3-70b-instruct:free").free
    router = CatalogModel.objects.get(model_id="openrouter/auto")  # prices "-1": not free, not negative
    assert not router.free and router.prompt_price == 0


def test_modalities_context_and_tool_support_come_from_the_list(synced):
    gemma = CatalogModel.objects.get(model_id="google/gemma-3-27b-it:free")
    assert gemma.input_modalities == ["text", "image"]
    assert gemma.output_modalities == ["text"]
    assert gemma.context_length == 131072
    assert gemma.supports_tools is False
    assert CatalogModel.objects.get(model_id="qwen/qwen3-coder:free").supports_tools is True


def test_a_model_no_longer_listed_is_disabled_never_deleted(synced, sim):
    models_enable_free()
    sim.configure(remove_models=["qwen/qwen3-coder:free"])
    result = catalog_sync()
    qwen = CatalogModel.objects.get(model_id="qwen/qwen3-coder:free")
    assert (qwen.enabled, qwen.listed, qwen.disabled_reason) == (False, False, "no longer listed upstream")
    assert result["disabled"] == ["qwen/qwen3-coder:free"]


def test_a_model_no_longer_free_is_disabled(synced, sim):
    models_enable_free()
    models = default_models()
    for model in models:
        if model["id"] == "mistralai/mistral-small-3.2-24b-instruct:free":
            model["pricing"]["prompt"] = "0.0000001"
    sim.configure(models=models)
    result = catalog_sync()
    mistral = CatalogModel.objects.get(model_id="mistralai/mistral-small-3.2-24b-instruct:free")
    assert (mistral.enabled, mistral.free, mistral.disabled_reason) == (False, False, "no longer free")
    assert mistral.prompt_price == Decimal("0.0000001")
    assert "mistralai/mistral-small-3.2-24b-instruct:free" in result["disabled"]


def test_a_relisted_model_stays_disabled_until_reviewed(synced, sim):
    models_enable_free()
    sim.configure(remove_models=["qwen/qwen3-coder:free"])
    catalog_sync()
    sim.reset()
    catalog_sync()
    qwen = CatalogModel.objects.get(model_id="qwen/qwen3-coder:free")
    assert qwen.listed and not qwen.enabled


def test_a_failing_sync_changes_nothing_and_says_why(synced, sim):
    models_enable_free()
    before = _rows()
    sim.configure(models_fault=500, remove_models=["qwen/qwen3-coder:free"])
    with pytest.raises(SyncError, match="HTTP 500"):
        catalog_sync()
    assert _rows() == before
    assert "HTTP 500" in Provider.objects.get(slug="openrouter").last_sync_error


def test_a_malformed_list_fails_before_anything_is_written(synced, sim):
    models_enable_free()
    before = _rows()
    models = [m for m in default_models() if m["id"] != "qwen/qwen3-coder:free"]
    models[0]["name"] = "renamed, must not be written"
    models.append({**default_models()[0], "id": "broken/model", "pricing": {"prompt": "cheap"}})
    sim.configure(models=models)
    with pytest.raises(SyncError, match="broken/model"):
        catalog_sync()
    assert _rows() == before
    assert "broken/model" in Provider.objects.get(slug="openrouter").last_sync_error


def test_a_good_sync_after_a_failure_clears_the_error(synced, sim):
    sim.configure(models_fault=503)
    with pytest.raises(SyncError):
        catalog_sync()
    sim.configure(models_fault=None)
    catalog_sync()
    provider = Provider.objects.get(slug="openrouter")
    assert provider.last_sync_error == "" and provider.last_sync_at is not None


def test_sync_models_command_prints_what_changed(db, sim):
    out = StringIO()
    call_command("sync_models", stdout=out)
    assert "added: " in out.getvalue() and "qwen/qwen3-coder:free" in out.getvalue()
    assert CatalogModel.objects.filter(model_id="qwen/qwen3-coder:free", enabled=False).exists()


def test_beat_task_syncs_every_provider_and_records_failures(db, sim):
    from gateway_project.celery import app  # what `celery -A gateway_project` loads
    from models_catalog.tasks import sync_models_task

    assert app.conf.beat_schedule["sync-models"]["task"] == sync_models_task.name

    sync_models_task.delay()
    assert CatalogModel.objects.filter(model_id="qwen/qwen3-coder:free").exists()
    sim.configure(models_fault=500)
    outcome = sync_models_task.delay().get()
    assert outcome["openrouter"].startswith("failed:")
