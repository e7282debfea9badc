"""Live servers for tests: the OpenRouter simulator and the gateway, over real loopback HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def wait_http(url: str, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until ``url`` answers; raise with the server's output when it does not."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise RuntimeError(f"server exited with {proc.returncode}:\n{out}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError as exc:
            last = exc
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s: {last}")


class Simulator:
    """A running simulator process and helpers to steer it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.root = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root}/api/v1"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Simulator:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", "--port", str(self.port)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        wait_http(f"{self.root}/_sim/state", proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def reset(self) -> None:
        httpx.post(f"{self.root}/_sim/reset").raise_for_status()

    def configure(self, **changes) -> None:
        httpx.post(f"{self.root}/_sim/config", json=changes).raise_for_status()

    def requests(self) -> list[dict]:
        return httpx.get(f"{self.root}/_sim/requests").json()["requests"]

    def paths(self) -> list[str]:
        """``METHOD /path`` of every request that reached the simulator with a key (the gateway's)."""
        return [f"{r['method']} {r['path']}" for r in httpx.get(f"{self.root}/_sim/paths").json()["paths"]]

    def forwarded(self) -> list[str]:
        """``paths()`` without the gateway's own reads of its accounts' limits (``GET /api/v1/key``), which
        the key pool makes in the background whenever it loads: what clients' requests caused."""
        return [p for p in self.paths() if p != "GET /api/v1/key"]

    def state(self) -> dict:
        return httpx.get(f"{self.root}/_sim/state").json()


class ThreadedGateway:
    """The gateway's ASGI app on uvicorn in a thread of the test process (shares its database settings)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = None
        self.thread: threading.Thread | None = None

    def start(self) -> ThreadedGateway:
        import uvicorn

        from gateway_project.asgi import application

        config = uvicorn.Config(application, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", loop="asyncio", proxy_headers=False)
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="gateway-under-test")
        self.thread.start()
        wait_http(f"{self.url}/health/live")
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(timeout=15)


class GatewayProcess:
    """The gateway as its own process (uvicorn), for tests of several processes and of shutdown."""

    def __init__(self, port: int, env: dict[str, str]) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = env
        self.proc: subprocess.Popen | None = None
        self._out: list[bytes] = []
        self._reader: threading.Thread | None = None

    def start(self) -> GatewayProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "gateway_project.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log", "--no-proxy-headers"],
            cwd=ROOT, env={**os.environ, **self.env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        wait_http(f"{self.url}/health/live", timeout=90, proc=self.proc)  # start-up is slow on a busy machine
        # Read its output all along: a pipe nobody reads fills up, and the server then blocks on its next log line.
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        return self

    def _read_output(self) -> None:
        for line in iter(self.proc.stdout.readline, b""):
            self._out.append(line)

    def terminate(self, timeout: float = 20.0) -> int:
        """Send SIGTERM and wait for a clean exit; return the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def output(self) -> str:
        """What the process printed; once it has exited, all of it."""
        if self._reader is not None and self.proc is not None and self.proc.poll() is not None:
            self._reader.join(timeout=10)
        return b"".join(self._out).decode(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.05):
    """Poll ``predicate`` until it returns a truthy value; return it, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        time.sleep(interval)


def fresh_minute(margin: float = 15.0) -> None:
    """Wait for a new clock minute when fewer than ``margin`` seconds are left in this one.

    The gateway's per-minute limits count in windows aligned to the minute; a test whose
    requests straddle a boundary would see the counter reset halfway.
    """
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.2)
