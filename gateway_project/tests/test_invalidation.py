"""A change reaches every gateway process after it commits, and never before: announce, register, aload."""

from __future__ import annotations

import asyncio

import pytest
from django.db import transaction

from accounts.models import GatewayKey
from accounts.services import gateway_key_update, user_set_limits
from gateway_project import invalidation
from gateway_project.redis_client import sync_client
from models_catalog.models import CatalogModel
from models_catalog.services import model_toggle
from testing.factories import make_key, make_user, openai_client, sync_catalog
from testing.servers import wait_until

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
# Caches in the second process outlive the test by far: only an announcement can make it see a change.
LONG_CACHES = {"GATEWAY_CATALOG_CACHE_TTL": "600", "GATEWAY_AUTH_CACHE_TTL": "600"}
WITHIN_A_SECOND = 1.0


class Rollback(Exception):
    pass


@pytest.fixture
def other_process(gateway_process_factory):
    """A second gateway process with long-lived caches, and a client whose key and catalog it has cached."""
    sync_catalog()
    secret = make_key(make_user())
    proc = gateway_process_factory(**LONG_CACHES)
    client = openai_client(proc.url, secret)
    assert LLAMA in _listed(client)  # the catalog and the principal are now cached there
    return client


def _listed(client) -> set[str]:
    return {m.id for m in client.models.list()}


def test_a_catalog_change_through_a_service_reaches_another_process_within_a_second(other_process):
    model_toggle(model=CatalogModel.objects.get(model_id=LLAMA), enabled=False)
    wait_until(lambda: LLAMA not in _listed(other_process), timeout=WITHIN_A_SECOND)


def test_a_change_is_announced_after_commit_so_a_reload_during_the_transaction_cannot_keep_old_rows(other_process):
    with transaction.atomic():
        model_toggle(model=CatalogModel.objects.get(model_id=LLAMA), enabled=False)
        # The other process serves (and may reload) while the change is uncommitted: it sees committed rows only.
        for _ in range(5):
            assert LLAMA in _listed(other_process)
    wait_until(lambda: LLAMA not in _listed(other_process), timeout=WITHIN_A_SECOND)


def test_a_rolled_back_change_is_never_announced(transactional_db):
    rolled_back, committed = make_user(), make_user()
    make_key(rolled_back)
    pubsub = sync_client().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(invalidation.channel())
    try:
        with pytest.raises(Rollback), transaction.atomic():
            gateway_key_update(key=GatewayKey.objects.get(user=rolled_back), enabled=False)
            raise Rollback
        user_set_limits(user=committed, rpm=5, fields={"rpm"})  # committed: once it arrives, nothing else is coming
        seen: list[str] = []

        def committed_one_arrived() -> bool:
            message = pubsub.get_message(timeout=0.1)  # None also for the subscription's own confirmation
            if message is not None:
                seen.append(message["data"].decode())
            return f"principals:{committed.id}" in seen

        wait_until(committed_one_arrived, timeout=5)
    finally:
        pubsub.close()
    assert seen == [f"principals:{committed.id}"]
    assert GatewayKey.objects.get(user=rolled_back).enabled


def test_announce_refuses_an_unknown_topic():
    with pytest.raises(ValueError, match="unknown invalidation topic 'catalogue'"):
        invalidation.announce("catalogue")


def test_a_load_that_a_drop_overtakes_is_not_kept_and_later_callers_load_afresh():
    async def scenario():
        started, release = asyncio.Event(), asyncio.Event()

        async def old_load():
            started.set()
            await release.wait()
            return "old rows"

        async def new_load():
            return "new rows"

        first = asyncio.create_task(invalidation.aload(invalidation.CATALOG, "test", old_load))
        await started.wait()
        invalidation.drop_local(invalidation.CATALOG)  # an announcement arrives while the first load runs
        second = await invalidation.aload(invalidation.CATALOG, "test", new_load)
        release.set()
        return await first, second

    first, second = asyncio.run(scenario())
    assert first == ("old rows", False)
    assert second == ("new rows", True)

