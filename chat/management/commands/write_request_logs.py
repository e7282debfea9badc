"""``python manage.py write_request_logs``: write the request-log rows that wait in Redis (GATEWAY_LOG_QUEUE=redis)."""

import signal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from chat.log_writer import Writer, default_name
from gateway_project.redis_client import sync_client


class Command(BaseCommand):
    help = ("Copy request-log rows from the Redis stream the gateway processes append to (GATEWAY_LOG_QUEUE=redis) "
            "into the database, until stopped (SIGTERM or SIGINT: the batch in hand is finished first).")

    def add_arguments(self, parser):
        parser.add_argument("--name", default=None, help="this writer's consumer name (default: host-pid)")
        parser.add_argument("--batch", type=int, default=None,
                            help="rows per batch (default: GATEWAY_LOG_BATCH_SIZE)")
        parser.add_argument("--claim-idle", type=float, default=60.0,
                            help="seconds after which rows another writer took but did not write are taken over")
        parser.add_argument("--heartbeat", default=None,
                            help="a file whose time is set after every batch or wait (a container's health check)")
        parser.add_argument("--until-empty", action="store_true",
                            help="stop once no row waits (a drain, for maintenance and tests)")

    def handle(self, *args, name, batch, claim_idle, heartbeat, until_empty, **options):
        if settings.GATEWAY.redis_url is None:
            raise CommandError("REDIS_URL is not set: without Redis the gateway writes its request logs itself")
        if batch is not None and batch < 1:
            raise CommandError("--batch must be at least 1")
        if claim_idle < 0:
            raise CommandError("--claim-idle must not be negative")
        stop = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.append(True))
        writer = Writer(sync_client(), name=name or default_name(),
                        batch_size=batch or settings.GATEWAY.log_batch_size, claim_idle_s=claim_idle,
                        pause_s=settings.GATEWAY.log_flush_interval_s, heartbeat=Path(heartbeat) if heartbeat else None)
        writer.run(lambda: bool(stop), until_empty=until_empty)
        self.stdout.write(f"{writer.written} rows written, {writer.set_aside} set aside")
