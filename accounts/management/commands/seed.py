"""Create the admin user, the default catalog and the default aliases; safe to run again."""

import secrets

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Role, User
from accounts.services import gateway_key_create, user_create
from models_catalog.default_aliases import default_aliases_create
from models_catalog.services import catalog_seed

QUICKSTART_KEY_NAME = "quickstart"


class Command(BaseCommand):
    help = ("Create the admin user (ADMIN_EMAIL/ADMIN_PASSWORD), the default catalog and the default aliases "
            "(gpt-4o, claude-sonnet-4, ... on free models; an existing alias is never changed). Idempotent.")

    def add_arguments(self, parser):
        parser.add_argument("--with-key", action="store_true",
                            help="when the admin is created now, also create a gateway key for it and print it once")

    def handle(self, *args, with_key: bool = False, **options):
        cfg = settings.GATEWAY
        if User.objects.filter(email=cfg.admin_email.lower()).exists():
            self.stdout.write(f"admin {cfg.admin_email} already exists")
        else:
            password = cfg.admin_password or secrets.token_urlsafe(12)
            with transaction.atomic():
                admin = user_create(email=cfg.admin_email, password=password, role=Role.ADMIN)
                created = gateway_key_create(user=admin, name=QUICKSTART_KEY_NAME) if with_key else None
            if cfg.admin_password:
                self.stdout.write(f"created admin {cfg.admin_email} (password from ADMIN_PASSWORD)")
            else:
                self.stdout.write(f"created admin {cfg.admin_email} with password: {password}")
                self.stdout.write("  (shown once; change it after logging in)")
            if created is not None:
                self.stdout.write(f"gateway key for {admin.email} (shown once): {created.secret}")
        result = catalog_seed()
        self.stdout.write(f"catalog: {result}")
        aliases = default_aliases_create()  # none until the catalog lists free models (sync_models makes them then)
        if aliases:
            self.stdout.write(f"default aliases created: {', '.join(aliases)}")
