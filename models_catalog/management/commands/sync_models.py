"""``python manage.py sync_models``: pull the catalog from ``$OPENROUTER_BASE_URL/models``."""

from django.core.management.base import BaseCommand, CommandError

from models_catalog.default_aliases import default_aliases_create
from models_catalog.services import catalog_seed, catalog_sync, models_enable_free
from models_catalog.sync import SyncError


class Command(BaseCommand):
    help = "Sync the model catalog from the provider's models list; prints what was added, disabled, updated."

    def add_arguments(self, parser):
        parser.add_argument("--provider", default="openrouter")
        parser.add_argument("--enable-free", action="store_true",
                            help="enable every listed free model (for demos; normally an admin reviews new models)")

    def handle(self, *args, provider: str, enable_free: bool, **options):
        catalog_seed()
        try:
            result = catalog_sync(provider_slug=provider)
        except SyncError as exc:
            raise CommandError(f"sync failed, catalog unchanged: {exc}") from exc
        for verb in ("added", "disabled", "updated"):
            names = result[verb]
            self.stdout.write(f"{verb}: {len(names)}" + (f" ({', '.join(names)})" if names else ""))
        if enable_free:
            enabled = models_enable_free()
            self.stdout.write(f"enabled free models: {enabled}")
        aliases = default_aliases_create()
        if aliases:
            self.stdout.write(f"default aliases created: {', '.join(aliases)}")
