"""The gateway's Django project.

The Celery app is loaded with Django so that ``task.delay()`` from any process uses it.
"""

from gateway_project.celery import app as celery_app

__all__ = ["celery_app"]
