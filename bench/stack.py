"""The benchmark's stack: the simulator, the gateway in its production configuration, and their processes.

Shared by ``bench/run.py`` (the /v1 benchmark), ``bench/peers.py`` (peers in the same run) and
``bench/soak.py`` (mixed traffic with faults). Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PYTHON = sys.executable


def python_of(root: Path) -> str:
    """The interpreter for the checkout at ``root``: its own ``.venv`` when it has one (an older checkout may need
    other packages), else this one."""
    own = root / ".venv" / "bin" / "python"
    return str(own) if root != ROOT and own.exists() else PYTHON
MODEL = "meta-llama/llama-3.3-70b-instruct:free"
POOL_KEY = "sk-or-bench-pool-key-0001"
PROMPT = "Say hello to the benchmark in a few short words please"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(port: int, path: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see its log")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"http://127.0.0.1:{port}{path} did not answer within {timeout}s")


def post_json(port: int, path: str, data: dict) -> None:
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(data).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=5).read()


# ------------------------------------------------------------------ the stack


def production_env(sim_port: int) -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):  # the bench's own settings win over a developer's shell
        if name.startswith(("GATEWAY_", "DJANGO_", "OPENROUTER_")):
            env.pop(name)
    env.update({
        "DJANGO_DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "ENCRYPTION_MASTER_KEY": secrets.token_hex(32),
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gw_bench"),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"),
        "OPENROUTER_BASE_URL": f"http://127.0.0.1:{sim_port}/api/v1",
        "OPENROUTER_API_KEYS": POOL_KEY,
        # high enough not to refuse the benchmark; the limits are still checked on every request
        "GATEWAY_DEFAULT_RPM": "100000000",
        "GATEWAY_DEFAULT_TPM": "100000000000",
        "OPENROUTER_FREE_RPM": "100000000",  # the pool account's capacity is still reserved on every request
        "OPENROUTER_FREE_RPD": "100000000000",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        "GATEWAY_ENV_FILE": "",  # a developer's .env (make run writes one) must not reach the bench
        # As compose.yaml deploys it: rows go to a Redis stream, a writer process stores them (LogWriter below)
        "GATEWAY_LOG_QUEUE": "redis",
    })
    return env


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


SETUP_CODE = """
import secrets
from accounts.models import User
from accounts.services import gateway_key_create, user_create
user = User.objects.filter(email="bench@localhost").first()
if user is None:
    user = user_create(email="bench@localhost", password=secrets.token_urlsafe(18))
created = gateway_key_create(user=user, name="bench")
print(created.key.id)
print(created.secret)
"""

COUNT_CODE = """
from chat.models import RequestLog
print(RequestLog.objects.filter(key_id=KEY_ID, status=200).count())
"""


def prepare(env: dict[str, str], log, root: Path = ROOT) -> None:
    """Create and migrate the database, and sync the catalog from the simulator (``root``: the checkout)."""
    ensure_database(env["DATABASE_URL"])
    manage = [python_of(root), str(root / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, cwd=root, check=True, stdout=log, stderr=log)
    subprocess.run([*manage, "sync_models", "--enable-free"], env=env, cwd=root, check=True, stdout=log, stderr=log)


def new_key(env: dict[str, str], root: Path = ROOT) -> tuple[int, str]:
    """A fresh gateway key of the bench's user (created on first use): (id, secret)."""
    out = subprocess.run([python_of(root), str(root / "manage.py"), "shell", "-c", SETUP_CODE], env=env, cwd=root, check=True,
                         capture_output=True, text=True)
    key_id, secret = out.stdout.strip().splitlines()[-2:]
    return int(key_id), secret


def logged_requests(env: dict[str, str], key_id: int) -> int:
    """Request-log rows with status 200 written for the bench's key (after the gateway drained them)."""
    out = subprocess.run([PYTHON, str(ROOT / "manage.py"), "shell", "-c", COUNT_CODE.replace("KEY_ID", str(key_id))],
                         env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1])


def start_simulator(port: int, env: dict[str, str], log) -> subprocess.Popen:
    proc = subprocess.Popen([PYTHON, "-m", "simulator", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    wait_http(port, "/_sim/state", proc)
    post_json(port, "/_sim/config", {"record_requests": False})
    return proc


def gateway_command(server: str, port: int, workers: int, python: str = PYTHON) -> list[str]:
    if server == "granian":
        return [python, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--loop", "uvloop", "--no-ws", "--log-level", "warning",
                "--no-access-log", "--backlog", "4096", "gateway_project.asgi:application"]
    return [python, "-m", "uvicorn", "gateway_project.asgi:application", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
            "--log-level", "warning", "--backlog", "4096", "--no-proxy-headers"]


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes have used so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def memory_kb(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":")
                out[name] = int(value.split()[0])
    except OSError:
        pass
    return out


class LogWriter:
    """``manage.py write_request_logs`` beside the gateway (with ``GATEWAY_LOG_QUEUE=redis``): its own process, whose
    CPU is counted apart from the gateway's."""

    def __init__(self, env: dict[str, str], log, root: Path) -> None:
        self.env, self.root = env, root
        self.proc = subprocess.Popen([python_of(root), str(root / "manage.py"), "write_request_logs"], cwd=root, env=env,
                                     stdout=log, stderr=subprocess.STDOUT)

    @staticmethod
    def wanted(env: dict[str, str], root: Path) -> bool:
        """Whether the checkout at ``root`` has a writer and ``env`` asks for it (an older checkout has none)."""
        command = root / "chat" / "management" / "commands" / "write_request_logs.py"
        return env.get("GATEWAY_LOG_QUEUE") == "redis" and command.exists()

    def cpu_seconds(self) -> float:
        return cpu_seconds([self.proc.pid])

    def stop(self) -> None:
        """Stop the writer after its batch, then write whatever still waits (every row is counted after a run)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        drain = subprocess.run([python_of(self.root), str(self.root / "manage.py"), "write_request_logs", "--until-empty",
                                "--claim-idle", "0"], cwd=self.root, env=self.env, capture_output=True, text=True,
                               timeout=300)
        if drain.returncode != 0:
            raise RuntimeError(f"draining the request-log stream failed: {drain.stderr[-2000:]}")


class Gateway:
    def __init__(self, server: str, workers: int, env: dict[str, str], log, root: Path = ROOT) -> None:
        self.port = free_port()
        self.workers = workers
        self.writer = LogWriter(env, log, root) if LogWriter.wanted(env, root) else None
        self.proc = subprocess.Popen(gateway_command(server, self.port, workers, python_of(root)), cwd=root, env=env, stdout=log,
                                     stderr=subprocess.STDOUT)
        wait_http(self.port, "/health/live", self.proc)
        self.pids = self._worker_pids()

    def writer_cpu_seconds(self) -> float:
        return self.writer.cpu_seconds() if self.writer is not None else 0.0

    def _worker_pids(self) -> list[int]:
        """The processes that serve requests: the server itself with 1 worker, else its worker children
        (uvicorn's multiprocessing resource tracker is not one)."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            kids = [p for p in children(self.proc.pid) if b"resource_tracker" not in _cmdline(p)]
            if self.workers == 1 and not kids:
                return [self.proc.pid]
            if len(kids) >= self.workers:
                return kids[: self.workers]
            time.sleep(0.1)
        return [self.proc.pid, *children(self.proc.pid)]

    def rss_mb(self) -> list[float]:
        return [round(memory_kb(p).get("VmRSS", 0) / 1024, 1) for p in self.pids]

    def peak_mb(self) -> list[float]:
        return [round(memory_kb(p).get("VmHWM", 0) / 1024, 1) for p in self.pids]

    def stop(self) -> int:
        """SIGTERM, then (with a writer) every row stored; return the gateway's exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self.writer is not None:
            self.writer.stop()
        return code
