"""ASGI lifespan: start background work with the server and drain it on shutdown."""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings

from gateway_project import invalidation

log = logging.getLogger(__name__)
SUBSCRIBE_WAIT_S = 5.0


class Lifespan:
    """Owns the log flusher and the invalidation listener of one gateway process."""

    def __init__(self, proxy) -> None:
        self.proxy = proxy
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    async def startup(self) -> None:
        from chat import log_stream, metrics_endpoint
        from chat.logbuffer import log_buffer
        from chat.proxy import inflight

        self._stop = asyncio.Event()
        log_buffer().start()
        subscribed = asyncio.Event()
        self._tasks = [
            asyncio.create_task(invalidation.listen(self._stop, subscribed), name="invalidation-listener"),
            asyncio.create_task(inflight.report(self._stop), name="in-flight-reporter"),
            asyncio.create_task(metrics_endpoint.sample_forever(self._stop), name="metrics-sampler"),
        ]
        if settings.GATEWAY.log_queue == "redis":
            log_stream.stream_queue().attach(asyncio.get_running_loop())
            self._tasks.append(asyncio.create_task(log_stream.sample_forever(self._stop), name="log-stream-sampler"))
        await self.proxy.startup()
        try:  # serve only once changes can be heard; with Redis down, start anyway (the TTLs bound staleness)
            await asyncio.wait_for(subscribed.wait(), timeout=SUBSCRIBE_WAIT_S)
        except TimeoutError:
            log.warning("invalidation listener not subscribed after %.0fs; serving on cache TTLs", SUBSCRIBE_WAIT_S)

    async def shutdown(self) -> None:
        from chat.logbuffer import log_buffer

        self._stop.set()
        await self.proxy.shutdown()
        await log_buffer().drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        from chat.proxy import metrics as recording
        from gateway_project import metrics

        recording.flush()  # what was counted since the last second is kept
        metrics.mark_dead()

    async def __call__(self, scope, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # report, so the server refuses to start
                    log.exception("gateway start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.shutdown()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return
