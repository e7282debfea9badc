"""The log flusher keeps every row, even when a user or key vanished while its request was in flight."""

from django.utils import timezone

from chat.logbuffer import LogBuffer
from chat.models import RequestLog


def test_rows_pointing_at_deleted_users_or_keys_are_kept_unlinked(transactional_db):
    buffer = LogBuffer()
    now = timezone.now()
    buffer.add({"request_id": "req_a", "created_at": now, "status": 200, "user_id": 999999, "key_id": 888888})
    buffer.add({"request_id": "req_b", "created_at": now, "status": 200})
    assert RequestLog.objects.count() == 2  # no event loop here: written at once
    orphan = RequestLog.objects.get(request_id="req_a")
    assert orphan.user_id is None and orphan.key_id is None
