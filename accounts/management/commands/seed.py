"""Create the admin user and the default catalog; safe to run again."""

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import Role, User
from accounts.services import user_create
from models_catalog.services import catalog_seed


class Command(BaseCommand):
    help = "Create the admin user (ADMIN_EMAIL/ADMIN_PASSWORD) and the default catalog. Idempotent."

    def handle(self, *args, **options):
        cfg = settings.GATEWAY
        if User.objects.filter(email=cfg.admin_email.lower()).exists():
            self.stdout.write(f"admin {cfg.admin_email} already exists")
        else:
            import secrets

            password = cfg.admin_password or secrets.token_urlsafe(12)
            user_create(email=cfg.admin_email, password=password, role=Role.ADMIN)
            if cfg.admin_password:
                self.stdout.write(f"created admin {cfg.admin_email} (password from ADMIN_PASSWORD)")
            else:
                self.stdout.write(f"created admin {cfg.admin_email} with password: {password}")
                self.stdout.write("  (shown once; change it after logging in)")
        result = catalog_seed()
        self.stdout.write(f"catalog: {result}")
