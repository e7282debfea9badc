"""CPU one request's trace costs in this process: recording its events and draining them to Redis.

    .venv/bin/python bench/trace_cost.py [--requests N]

Records the events of a typical served request (accepted, admitted, one attempt, first
byte, done) N times, the way the exchange does, and drains them as the background task
does (JSON, one Redis PUBLISH per batch), and prints CPU microseconds per request for
each half: with nobody watching (nothing is queued) and with a watcher somewhere.
Needs Redis at REDIS_URL (default redis://127.0.0.1:6379/6).
See docs/decisions/0017-request-traces.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/6")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    import django

    django.setup()
    from accounts.principals import Principal
    from chat.proxy import trace_live
    from chat.proxy.attempt import Attempt
    from chat.proxy.limits import Admission
    from chat.proxy.tokens import TokenCount
    from chat.proxy.trace import Trace

    principal = Principal(user_id=1, email="bench@localhost", role="user", key_id=1, key_prefix="sk-gw-bench")
    admission = Admission(headers={"x-ratelimit-remaining-requests": "599", "x-ratelimit-remaining-tokens": "999"})
    record = Attempt("meta-llama/llama-3.3-70b-instruct:free", "…abcd", "pool-1", 200, 12, "ok", verdict="served")
    tokens = TokenCount()
    tokens.prompt, tokens.completion = 10, 20
    hub = trace_live.hub()

    async def run(watching: bool) -> tuple[float, float]:
        hub.pending.clear()
        hub.watching = watching
        recording = draining = 0.0
        for start in range(0, args.requests, trace_live.BATCH_MAX // 5):
            began = time.process_time()
            for n in range(start, min(start + trace_live.BATCH_MAX // 5, args.requests)):
                trace = Trace(f"req_{n:024x}", principal, "api", time.monotonic())
                trace.accepted(model=record.model, stream=False)
                trace.admitted(admission, None)
                trace.attempt(record)
                trace.first_byte(15)
                trace.finish(outcome="served", status=200, error=None, model_used=record.model, tokens=tokens,
                             cost=Decimal("0"))
            recording += time.process_time() - began
            began = time.process_time()
            await hub.drain()
            draining += time.process_time() - began
        return recording, draining

    per = 1e6 / args.requests
    for watching in (False, True):
        recording, draining = asyncio.run(run(watching))
        print(f"{args.requests} requests, {'a watcher somewhere' if watching else 'nobody watching'}: recording "
              f"{recording * per:.1f} µs CPU per request, publishing to Redis {draining * per:.1f} µs")


if __name__ == "__main__":
    main()
