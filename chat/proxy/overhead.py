"""The ``x-gateway-overhead-ms`` header: the time the gateway itself added to a /v1 answer.

Total time so far (since the request's start) minus the time spent waiting on the upstream
(each attempt's ``waited_s``, and reading a whole answer's body); for a stream it is sent in
the head, so it is the overhead up to the first byte. Milliseconds, two decimals.
"""

from __future__ import annotations

import time

HEADER = "x-gateway-overhead-ms"


def overhead_ms(started: float, waited_s: float = 0.0) -> str:
    return f"{max(time.monotonic() - started - waited_s, 0.0) * 1000:.2f}"
