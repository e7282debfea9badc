"""Run the simulator on uvicorn."""

from __future__ import annotations

import uvicorn

from simulator.app import make_app


def serve(*, host: str = "127.0.0.1", port: int = 8090) -> None:
    print(f"OpenRouter simulator on http://{host}:{port}/api/v1", flush=True)
    uvicorn.run(make_app(), host=host, port=port, log_level="warning", access_log=False, lifespan="on")
