"""Peers side by side: this gateway, openai-forward and LiteLLM's proxy, against the same simulator, in one run.

    python bench/peers.py                # about 3 minutes after the first install
    python bench/peers.py --quick        # a short smoke run
    python bench/peers.py --json out.json --only gateway,openai-forward

On first use it installs the pinned peers (``PEERS``) from the package registry into
their own virtual environments under ``bench/.peers/`` (ignored by git). Each
contestant runs alone against the one simulator of the run, which is also called
directly at every point as the reference: requests/s at c=1 and c=64, streaming
and not, added p50 and p99 latency and added time to first token against the
direct call, CPU per request from the contestant's processes' own CPU time
(``/proc/<pid>/stat``, every worker counted), and peak RSS. The gateway runs in
``bench/run.py``'s production configuration (PostgreSQL, Redis, key auth, limits,
request logs); openai-forward forwards without auth, limits or logs; LiteLLM runs
with a master key and no database. Figures are compared only as ratios inside
one run; traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import loadgen, run, stack  # noqa: E402

PEERS_DIR = ROOT / "bench" / ".peers"
PEERS = {
    "openai-forward": ["openai-forward==0.8.1", "pyyaml==6.0.3"],  # it imports yaml without requiring it
    "litellm": ["litellm[proxy]==1.108.7"],
}
MASTER_KEY = "sk-bench-litellm-master"
CONTESTANTS = ("gateway", "openai-forward", "litellm")  # the names --only takes


def peer_python(name: str) -> Path:
    """The peer's interpreter, installing it (pinned, from the registry) on first use."""
    venv = PEERS_DIR / name
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.exists() and marker.read_text() == " ".join(PEERS[name]):
        return python
    print(f"peers: installing {' '.join(PEERS[name])} into {venv.relative_to(ROOT)} (once)", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEERS[name]], check=True)
    marker.write_text(" ".join(PEERS[name]))
    return python


def _started_at(pid: int) -> str | None:
    """The process's start time in clock ticks, ``None`` once it has exited: with the pid, who it is."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


@dataclass
class Contestant:
    """One server under test: how it is started and how a client calls it."""

    name: str
    workers: int
    path: str
    headers: dict[str, str]
    model: str = stack.MODEL
    proc: subprocess.Popen | None = None
    port: int = 0
    pids: list[int] = field(default_factory=list)
    scratch: tempfile.TemporaryDirectory | None = None
    gateway: stack.Gateway | None = None  # this gateway's contestant: its request-log writer stops with it

    def writer_cpu_seconds(self) -> float:
        return self.gateway.writer_cpu_seconds() if self.gateway is not None else 0.0

    def processes(self) -> list[int]:
        if self.proc is None:
            return []
        return [self.proc.pid, *stack.children(self.proc.pid)]

    def cpu_seconds(self) -> float:
        return stack.cpu_seconds(self.processes())

    def peak_rss_mb(self) -> float:
        return round(max((stack.memory_kb(p).get("VmHWM", 0) for p in self.processes()), default=0) / 1024, 1)

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server; a child of it still running ``grace`` s after the server exited is killed."""
        if self.proc is not None:
            children = {pid: _started_at(pid) for pid in self.processes()[1:]}
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            # Workers whose supervisor was killed above are orphaned and keep serving what they hold; LiteLLM's
            # did for minutes after a run, spending CPU in the next contestant's points and writing to the log.
            # A pid is only killed while its start time still matches, never a newcomer that reused it.
            deadline = time.monotonic() + grace
            while (left := [p for p, t in children.items() if t and _started_at(p) == t]) and time.monotonic() < deadline:
                time.sleep(0.1)
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self.gateway is not None and self.gateway.writer is not None:
            self.gateway.writer.stop()
        if self.scratch is not None:
            self.scratch.cleanup()


def start_gateway(env: dict[str, str], log, workers: int) -> Contestant:
    _, key = stack.new_key(env)
    gw = stack.Gateway("uvicorn", workers, env, log)
    return Contestant(f"this gateway, {workers}w", workers, "/v1/chat/completions",
                      {"Authorization": f"Bearer {key}"}, proc=gw.proc, port=gw.port, gateway=gw)


def start_openai_forward(sim_port: int, log, workers: int) -> Contestant:
    python = peer_python("openai-forward")
    scratch = tempfile.TemporaryDirectory(prefix="bench-oaif-")  # it reads a .env from its working directory
    port = stack.free_port()
    env = {**os.environ, "FORWARD_CONFIG": json.dumps([{"base_url": f"http://127.0.0.1:{sim_port}/api",
                                                         "route": "/", "type": "openai"}]),
           "LOG_CHAT": "false", "PRINT_CHAT": "false", "TZ": "UTC"}
    proc = subprocess.Popen([str(python.parent / "aifd"), "run", "--port", str(port), "--workers", str(workers)],
                            cwd=scratch.name, env=env, stdout=log, stderr=subprocess.STDOUT)
    stack.wait_http(port, "/healthz", proc, timeout=90)
    return Contestant(f"openai-forward, {workers}w", workers, "/v1/chat/completions",
                      {"Authorization": f"Bearer {stack.POOL_KEY}"}, proc=proc, port=port, scratch=scratch)


def start_litellm(sim_port: int, log, workers: int) -> Contestant:
    python = peer_python("litellm")
    scratch = tempfile.TemporaryDirectory(prefix="bench-litellm-")
    config = Path(scratch.name) / "config.yaml"
    # disable_hf_tokenizer_download: without it every stream stalled ~23 s and none completed in this harness.
    # On a stream LiteLLM prices the prompt before the first byte (completion_cost -> token_counter), and for a
    # "llama-3" model name it fetches the tokenizer Xenova/llama-3-tokenizer from huggingface.co, synchronously on
    # the event loop, with 5 retries (1+2+4+8+8 s); offline that fails, it falls back to tiktoken, and the failure
    # is not cached, so every stream pays it again and blocks the worker's other requests meanwhile. Whole answers
    # carry usage and never count. LiteLLM's documented setting for this (config_settings, litellm_settings
    # reference: "if true, it defaults to using the openai tokenizer for all models") is what an offline user sets;
    # the counts are the same tiktoken ones the fallback gave.
    config.write_text(
        "model_list:\n"
        f"  - model_name: \"{stack.MODEL}\"\n"
        "    litellm_params:\n"
        f"      model: \"openai/{stack.MODEL}\"\n"
        f"      api_base: \"http://127.0.0.1:{sim_port}/api/v1\"\n"
        f"      api_key: \"{stack.POOL_KEY}\"\n"
        "litellm_settings:\n  telemetry: false\n  disable_hf_tokenizer_download: true\n"
    )
    port = stack.free_port()
    env = {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_TELEMETRY": "False",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True", "DISABLE_SCHEMA_UPDATE": "True"}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([str(python.parent / "litellm"), "--config", str(config), "--host", "127.0.0.1",
                             "--port", str(port), "--num_workers", str(workers)],
                            cwd=scratch.name, env=env, stdout=log, stderr=subprocess.STDOUT)
    stack.wait_http(port, "/health/liveliness", proc, timeout=300)
    return Contestant(f"LiteLLM, {workers}w", workers, "/v1/chat/completions",
                      {"Authorization": f"Bearer {MASTER_KEY}"}, proc=proc, port=port, scratch=scratch)


def measure(contestant: Contestant, sim_port: int, args) -> dict:
    """Every point for one contestant, each beside a direct call of the simulator made just before it."""
    figures: dict = {"name": contestant.name, "workers": contestant.workers, "points": []}
    for stream in (False, True):
        body = run.chat_body(stream, direct=False)
        target = loadgen.Target("127.0.0.1", contestant.port, contestant.path, contestant.headers, body)
        direct, _ = run.targets(sim_port, contestant.port, "", stream)
        loadgen.run(target, concurrency=4, duration=0.3, warmup=0.2, stream=stream, processes=1)  # warm
        for concurrency in args.concurrency:
            kwargs = {"concurrency": concurrency, "duration": args.duration, "warmup": args.warmup,
                      "stream": stream, "processes": 1 if concurrency == 1 else 2}
            d = loadgen.run(direct, **kwargs)
            cpu_before, writer_before = contestant.cpu_seconds(), contestant.writer_cpu_seconds()
            g = loadgen.run(target, **kwargs)
            cpu = contestant.cpu_seconds() - cpu_before
            writer_cpu = contestant.writer_cpu_seconds() - writer_before
            point = {
                "stream": stream, "concurrency": concurrency, "rps": g.get("rps"), "errors": g["errors"],
                "error_samples": g["error_samples"][:3], "direct_rps": d.get("rps"),
                "added_p50_ms": run._diff(g["p50_ms"], d["p50_ms"]),
                "added_p99_ms": run._diff(g["p99_ms"], d["p99_ms"]),
                "added_ttft_ms": run._diff(g["ttft_p50_ms"], d["ttft_p50_ms"]) if stream else None,
                "cpu_ms_per_request": round(cpu * 1000 / g["answered"], 3) if g["answered"] else None,
            }
            if contestant.gateway is not None and contestant.gateway.writer is not None and g["answered"]:
                point["writer_cpu_ms_per_request"] = round(writer_cpu * 1000 / g["answered"], 3)
            figures["points"].append(point)
            first_error = f" (first: {g['error_samples'][0]})" if g["error_samples"] else ""
            writer = f" (+ log writer {point['writer_cpu_ms_per_request']})" if "writer_cpu_ms_per_request" in point else ""
            print(f"  {contestant.name:22} {'stream' if stream else 'whole ':6} c={concurrency:<3} "
                  f"{point['rps']} req/s, +p50 {point['added_p50_ms']} ms, "
                  f"CPU {point['cpu_ms_per_request']} ms/req{writer}, errors {point['errors']}{first_error}", flush=True)
    figures["peak_rss_mb"] = contestant.peak_rss_mb()
    return figures


def _point(figures: dict, stream: bool, concurrency: int) -> dict:
    return next(p for p in figures["points"] if p["stream"] == stream and p["concurrency"] == concurrency)


def _rate(point: dict) -> str:
    """A point's req/s, with its error count beside it when it had any (its figures then cover fewer answers)."""
    n = point["errors"]
    return f"{point['rps']} ({n} error{'' if n == 1 else 's'})" if n else f"{point['rps']}"


def table(results: list[dict]) -> str:
    """One row per contestant; a point's errors stand beside its req/s, and the last column adds them all up."""
    head = ("| contestant | req/s c=1 | req/s c=64 | added p50 c=1 | added p99 c=1 | streams/s c=1 | "
            "streams/s c=64 | added TTFT c=1 | CPU ms/req c=64 | peak RSS MB | errors |")
    rows = [head, "|" + "---|" * 11]
    for r in results:
        w1, w64 = _point(r, False, 1), _point(r, False, 64)
        s1, s64 = _point(r, True, 1), _point(r, True, 64)
        rows.append(f"| {r['name']} | {_rate(w1)} | {_rate(w64)} | {w1['added_p50_ms']} | {w1['added_p99_ms']} | "
                    f"{_rate(s1)} | {_rate(s64)} | {s1['added_ttft_ms']} | {w64['cpu_ms_per_request']} | "
                    f"{r['peak_rss_mb']} | {sum(p['errors'] for p in r['points'])} |")
    return "\n".join(rows)


def ratios(results: list[dict]) -> dict:
    """This gateway (1 worker) against each peer, same run: req/s ratios and CPU per request ratios."""
    ours = next((r for r in results if r["name"] == "this gateway, 1w"), None)
    if ours is None:
        return {}
    out = {}
    for peer in results:
        if peer is ours or peer["name"].startswith("this gateway"):
            continue
        entry = {}
        for stream in (False, True):
            for c in (1, 64):
                a, b = _point(ours, stream, c)["rps"], _point(peer, stream, c)["rps"]
                entry[f"rps_{'stream' if stream else 'whole'}_c{c}"] = round(a / b, 2) if a and b else None
        a, b = _point(ours, False, 64)["cpu_ms_per_request"], _point(peer, False, 64)["cpu_ms_per_request"]
        entry["cpu_per_request_c64"] = round(a / b, 2) if a and b else None
        out[peer["name"]] = entry
    return out


def error_report(results: list[dict], not_started: list[str]) -> tuple[int, str]:
    """The run's error count (every point's errors, plus one per contestant that did not start) and its line."""
    per_contestant = [(r["name"], sum(p["errors"] for p in r["points"])) for r in results]
    total = sum(n for _, n in per_contestant) + len(not_started)
    parts = [f"{name}: {n}" for name, n in per_contestant if n] + [f"{name}: did not start" for name in not_started]
    return total, f"errors: {total}" + (f" ({', '.join(parts)})" if parts else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter points (a smoke run)")
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH as JSON")
    parser.add_argument("--only", default=",".join(CONTESTANTS),
                        help=f"comma-separated contestants: {', '.join(CONTESTANTS)}")
    args = parser.parse_args(argv)
    args.warmup, args.duration = (0.3, 0.7) if args.quick else (1.0, 3.0)
    args.concurrency = [1, 64]
    wanted = set(args.only.split(","))
    if wanted - set(CONTESTANTS):  # a misspelt name would run nothing and report "errors: 0"
        parser.error(f"unknown contestant(s) {', '.join(sorted(wanted - set(CONTESTANTS)))}; "
                     f"choose from {', '.join(CONTESTANTS)}")
    starters = []
    if "gateway" in wanted:
        starters.append(("this gateway, 1w", lambda env, sim, log: start_gateway(env, log, 1)))
    if "openai-forward" in wanted:
        starters.append(("openai-forward, 1w", lambda env, sim, log: start_openai_forward(sim, log, 1)))
    if "litellm" in wanted:
        starters += [("LiteLLM, 1w", lambda env, sim, log: start_litellm(sim, log, 1)),
                     ("LiteLLM, 2w", lambda env, sim, log: start_litellm(sim, log, 2))]

    log_path = ROOT / "bench" / "results" / "peers-last-run.log"
    log_path.parent.mkdir(exist_ok=True)
    log_path.write_text("")
    sim_port = stack.free_port()
    env = stack.production_env(sim_port)
    results: list[dict] = []
    not_started: list[str] = []
    with log_path.open("a") as log:
        sim = stack.start_simulator(sim_port, env, log)
        try:
            stack.prepare(env, log)
            for name, start in starters:
                try:
                    contestant = start(env, sim_port, log)
                except RuntimeError as exc:  # a peer that does not start is reported, not fatal
                    print(f"  {name} did not start: {exc}", flush=True)
                    not_started.append(name)
                    continue
                try:
                    results.append(measure(contestant, sim_port, args))
                finally:
                    contestant.stop()
        finally:
            sim.terminate()
            sim.wait(timeout=10)
    errors, errors_line = error_report(results, not_started)
    summary = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": run.machine(),
               "peers": PEERS, "settings": {"duration_s": args.duration, "warmup_s": args.warmup},
               "results": results, "ratios": ratios(results), "errors": errors, "not_started": not_started}
    print()
    print(table(results))
    print()
    for peer, entry in summary["ratios"].items():
        print(f"this gateway (1w) / {peer}: " + ", ".join(f"{k} {v}" for k, v in entry.items()))
    print(errors_line)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
