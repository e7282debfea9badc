"""Create a gateway key for a user and print its secret alone on the last line."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import gateway_key_create


class Command(BaseCommand):
    help = "Create a gateway key; the secret is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="cli")

    def handle(self, *args, email: str, name: str, **options):
        user = User.objects.filter(email=email.strip().lower()).first()
        if user is None:
            raise CommandError(f"no user with email {email}")
        created = gateway_key_create(user=user, name=name)
        self.stdout.write(f"created key {created.key.name!r} ({created.key.prefix}…) for {user.email}")
        self.stdout.write(created.secret)
