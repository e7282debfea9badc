"""An admin's price override in the Django admin survives the next sync."""

from decimal import Decimal

from django.test import Client

from models_catalog.models import CatalogModel
from models_catalog.services import catalog_sync
from testing.factories import make_user, sync_catalog

PAID = "openai/gpt-4o-mini"


def test_prices_set_by_an_admin_are_kept_by_sync(transactional_db, sim):
    sync_catalog()
    admin = make_user(admin=True)
    client = Client()
    client.force_login(admin)
    model = CatalogModel.objects.get(model_id=PAID)
    url = f"/django-admin/models_catalog/catalogmodel/{model.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(prompt_price="0.000001", completion_price="0.000002", input_modalities='["text"]',
                output_modalities='["text"]')
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    model.refresh_from_db()
    assert model.price_overridden is True
    catalog_sync()
    model.refresh_from_db()
    assert (model.prompt_price, model.completion_price) == (Decimal("0.000001"), Decimal("0.000002"))
