"""Admin console models page: sync now, the catalog table, aliases, presets and usage limits."""

from __future__ import annotations

from contextlib import closing

from models_catalog.models import Alias, CatalogModel, Preset, UsageLimit
from models_catalog.selectors import invalidate
from testing.browser_admin import csrf_form, session_client
from testing.factories import make_user

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"


def test_sync_now_fills_the_catalog_and_the_page_lists_it(gateway, sim):
    admin = make_user(admin=True)
    with closing(session_client(gateway.url, admin)) as client:
        assert "No models yet" in client.get("/console/models/").text
        r = client.post("/console/models/sync", data=csrf_form(client))
        assert r.status_code == 302 and r.headers["location"] == "/console/models/"
        added = CatalogModel.objects.count()
        assert added > 3
        page = client.get("/console/models/").text
        assert f"Synced: {added} added, 0 updated" in page
        assert f">{LLAMA}</a>" in page and f"{added} models" in page

        model = CatalogModel.objects.get(model_id=LLAMA)
        Alias.objects.create(alias="fast", model_id=LLAMA, fallbacks=["qwen/qwen3-coder:free"])
        Preset.objects.create(name="coder", model_id="qwen/qwen3-coder:free", params={"temperature": 0.2})
        UsageLimit.objects.create(model=model, max_requests_per_day=50)
        invalidate()
        page = client.get("/console/models/", params={"q": LLAMA}).text
        assert "<code>fast</code>" in page and f"{LLAMA} → qwen/qwen3-coder:free" in page
        assert "<code>@preset/coder</code>" in page
        assert f"<td>{LLAMA}</td><td>50</td><td>no limit</td>" in page
        assert "1 model<" in page

        sim.configure(models_fault=500)
        client.post("/console/models/sync", data=csrf_form(client))
        assert "Sync failed; the catalog is unchanged" in client.get("/console/models/").text
        assert CatalogModel.objects.count() == added
