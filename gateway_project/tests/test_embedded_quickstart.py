"""The README's quick start in a copy of the checkout: `make run`'s script, then commands in a new terminal.

The copy holds this working tree's files (tracked and new, nothing ignored: no
.env, database or secrets of this checkout) and the shared virtualenv. The
script is what `make run` runs after installing; the "new terminal" is a process
with none of its environment, as a user who opens one after `make run` has.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest

from testing.env import free_port
from testing.servers import ROOT

MODEL = "meta-llama/llama-3.3-70b-instruct:free"
KEY_LINE = re.compile(r"^>> The admin's gateway key \(shown once, on first start\): (sk-gw-[A-Za-z0-9_-]+)$", re.M)


def _copy_checkout(target: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to((ROOT / ".venv").resolve())
    return target


def _new_terminal() -> dict[str, str]:
    return {"HOME": os.environ.get("HOME", "/tmp"), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


def _wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"make run's script exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout}s:\n{log.read_text()}")


def _answer(base_url: str, key: str) -> str:
    client = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0)
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hello"}])
    return reply.choices[0].message.content


@pytest.fixture
def embedded_run(tmp_path):
    """`make run`'s script in a copy of the checkout on free ports; yields (checkout, base URL, output file)."""
    checkout = _copy_checkout(tmp_path / "gateway")
    port, sim_port = free_port(), free_port()
    log = tmp_path / "run.log"
    env = {**_new_terminal(), "PATH": f"{checkout / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
           "HOST": "127.0.0.1", "PORT": str(port), "SIM_PORT": str(sim_port)}
    with log.open("wb") as out:
        proc = subprocess.Popen(["bash", "scripts/run_embedded.sh"], cwd=checkout, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_ready(f"http://127.0.0.1:{port}/health/ready", proc, log)
        yield checkout, f"http://127.0.0.1:{port}", log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the script, the gateway and the simulator
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_make_run_prints_a_key_that_works_and_readme_commands_work_in_a_new_terminal(embedded_run):
    checkout, base, log = embedded_run
    printed = KEY_LINE.search(log.read_text())
    assert printed, log.read_text()
    assert _answer(f"{base}/v1", printed.group(1)).startswith(f"Hello from {MODEL}.")

    env_file = (checkout / ".env").read_text()
    assert "DJANGO_DEBUG=1" in env_file and "OPENROUTER_BASE_URL=http://127.0.0.1:" in env_file

    created = subprocess.run([".venv/bin/python", "manage.py", "create_api_key", "--email", "admin@localhost"],
                             cwd=checkout, env=_new_terminal(), capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr
    new_key = created.stdout.strip().splitlines()[-1]
    assert new_key.startswith("sk-gw-") and new_key != printed.group(1)
    assert _answer(f"{base}/v1", new_key).startswith(f"Hello from {MODEL}.")

    synced = subprocess.run([".venv/bin/python", "manage.py", "sync_models"], cwd=checkout, env=_new_terminal(),
                            capture_output=True, text=True, timeout=120)
    assert synced.returncode == 0, synced.stderr  # it reaches the simulator named in .env, not openrouter.ai
