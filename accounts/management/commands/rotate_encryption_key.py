"""Re-encrypt every stored upstream secret under the current ENCRYPTION_MASTER_KEY."""

import re

from django.core.management.base import BaseCommand, CommandError

from accounts.crypto import DecryptionError
from accounts.services import secrets_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt stored secrets under the current ENCRYPTION_MASTER_KEY. Set the new key as "
        "ENCRYPTION_MASTER_KEY and pass the old one with --old-key (or list it in ENCRYPTION_PREVIOUS_KEYS)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--old-key", action="append", default=[], help="a previous master key (64 hex)")

    def handle(self, *args, old_key: list[str], **options):
        for key in old_key:
            if not re.fullmatch(r"[0-9a-fA-F]{64}", key):
                raise CommandError("--old-key must be 64 hex characters")
        try:
            changed = secrets_rotate(old_keys=[k.lower() for k in old_key])
        except DecryptionError as exc:
            raise CommandError(f"a stored secret could not be decrypted ({exc}); nothing was changed") from exc
        self.stdout.write(f"re-encrypted {changed} secret(s) under the current master key")
