"""The Celery application: ``celery -A gateway_project worker`` / ``beat``.

Without ``CELERY_BROKER_URL`` tasks run inline (``task_always_eager``), so the
embedded mode needs no broker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")

app = Celery("gateway_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
