"""``python manage.py simulate_openrouter --port PORT``: the offline OpenRouter simulator."""

from django.core.management.base import BaseCommand

from simulator.server import serve


class Command(BaseCommand):
    help = "Run a simulator of OpenRouter's API on loopback (for offline demos and tests)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8090)

    def handle(self, *args, host: str, port: int, **options):
        serve(host=host, port=port)
