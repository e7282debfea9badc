"""The /v1 benchmark: the gateway in its production configuration against the OpenRouter simulator.

    python bench/run.py                 # the full run (about 2-3 minutes on 2 cores)
    python bench/run.py --quick         # a short smoke run (CI)
    python bench/run.py --json out.json # also write every figure as JSON

It starts the simulator and the gateway (DEBUG off, strong secrets, PostgreSQL,
Redis, auth, rate limits and request logs all on; uvicorn with uvloop and
httptools), creates its own user and gateway key, then measures, for each worker
count, at concurrency 1, 16 and 64, streaming and not: requests/s, p50 and p99
latency and time to first token, both through the gateway and calling the
simulator directly in the same run, so the gateway's added latency is a
difference measured side by side. Then it holds many slow streams open at once
and reports errors and the resident memory of each gateway process. Traffic goes
only to 127.0.0.1. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import loadgen  # noqa: E402
from bench.stack import (  # noqa: E402
    MODEL,
    POOL_KEY,
    PROMPT,
    Gateway,
    cpu_seconds,
    free_port,
    logged_requests,
    new_key,
    prepare,
    production_env,
    start_simulator,
)

TARGETS = {"p50_added_ms_c1": 1.5, "rps_c64_nonstream": 1200, "ttft_added_ms_c1": 2.0, "stream_rss_mb": 300}

# ------------------------------------------------------------------ the measurements


def chat_body(stream: bool, *, direct: bool, fault: str | None = None, prompt: str = PROMPT) -> bytes:
    body: dict = {"model": MODEL, "messages": [{"role": "user", "content": prompt}], "stream": stream}
    if stream and direct:
        body["stream_options"] = {"include_usage": True}  # what the gateway asks the upstream for
    if fault:
        body["sim"] = {"fault": fault}
    return json.dumps(body).encode()


def targets(sim_port: int, gw_port: int, key: str, stream: bool) -> tuple[loadgen.Target, loadgen.Target]:
    direct = loadgen.Target("127.0.0.1", sim_port, "/api/v1/chat/completions",
                            {"Authorization": f"Bearer {POOL_KEY}"}, chat_body(stream, direct=True))
    gateway = loadgen.Target("127.0.0.1", gw_port, "/v1/chat/completions",
                             {"Authorization": f"Bearer {key}"}, chat_body(stream, direct=False))
    return direct, gateway


def measure_point(direct, gateway, *, concurrency: int, stream: bool, duration: float, warmup: float,
                  pids: list[int], writer_pids: list[int] = ()) -> dict:
    processes = 1 if concurrency == 1 else 2
    kwargs = {"concurrency": concurrency, "duration": duration, "warmup": warmup, "stream": stream,
              "processes": processes}
    d = loadgen.run(direct, **kwargs)
    cpu_before, writer_before = cpu_seconds(pids), cpu_seconds(list(writer_pids))
    g = loadgen.run(gateway, **kwargs)
    cpu, writer_cpu = cpu_seconds(pids) - cpu_before, cpu_seconds(list(writer_pids)) - writer_before
    point = {"concurrency": concurrency, "stream": stream, "direct": d, "gateway": g}
    # The gateway processes' CPU over the run (warm-up included) per answer it gave in that time.
    point["gateway_cpu_ms_per_request"] = round(cpu * 1000 / g["answered"], 3) if g.get("answered") else None
    # The request-log writer's process (GATEWAY_LOG_QUEUE=redis), apart: it runs beside the gateway, not in it.
    if writer_pids and g.get("answered"):
        point["writer_cpu_ms_per_request"] = round(writer_cpu * 1000 / g["answered"], 3)
    point["added_p50_ms"] = _diff(g["p50_ms"], d["p50_ms"])
    if stream:
        point["added_ttft_p50_ms"] = _diff(g["ttft_p50_ms"], d["ttft_p50_ms"])
    point["rps_ratio"] = round(g["rps"] / d["rps"], 3) if d.get("rps") else None
    return point


def _diff(a, b):
    return None if a is None or b is None else round(a - b, 3)


def slow_streams(gw: Gateway, gw_port: int, key: str, *, streams: int, chunk_delay_ms: int) -> dict:
    # about 13 chunks with the delay between each: each stream lasts several seconds
    target = loadgen.Target("127.0.0.1", gw_port, "/v1/chat/completions", {"Authorization": f"Bearer {key}"},
                            chat_body(True, direct=False, fault=f"chunk_delay:{chunk_delay_ms}"))
    peak_rss = [0.0] * len(gw.pids)

    def sample() -> None:
        for i, value in enumerate(gw.rss_mb()):
            peak_rss[i] = max(peak_rss[i], value)

    started = time.monotonic()
    result = loadgen.hold_streams(target, streams=streams, processes=2, timeout=60 + chunk_delay_ms / 20,
                                  on_wait=sample)
    return {
        "streams": streams,
        "chunk_delay_ms": chunk_delay_ms,
        "completed": result["requests"],
        "answered": result["answered"],
        "errors": result["errors"],
        "error_samples": result["error_samples"],
        "stream_p50_s": None if result["p50_ms"] is None else round(result["p50_ms"] / 1000, 2),
        "wall_s": round(time.monotonic() - started, 2),
        "ttft_p50_ms": result["ttft_p50_ms"],
        "ttft_p99_ms": result["ttft_p99_ms"],
        "rss_mb_per_process": peak_rss,
    }


def raise_file_limit(streams: int) -> None:
    """Each held stream is two sockets in the gateway (client, upstream) and one in the simulator and in the
    generator: raise this process's open-file limit, which every process it starts inherits, to what that
    needs (up to the hard limit), and say so."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * streams + 1024
    if soft >= wanted:
        return
    new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    print(f"bench: open-file limit raised from {soft} to {new} for {streams} streams", flush=True)
    if new < wanted:
        print(f"bench: the hard limit ({hard}) is below the {wanted} files {streams} streams need", flush=True)


def log_problems(path: Path, since: int) -> list[str]:
    lines = path.read_text(errors="replace").splitlines()[since:]
    return [line for line in lines if any(w in line for w in ("WARNING", "ERROR", "Traceback", "CRITICAL"))]


def run_workers(workers: int, args, env, sim_port: int, log_path: Path) -> dict:
    key_id, key = new_key(env)
    answered = 0
    with log_path.open("a") as log:
        log.write(f"\n== gateway, {args.server}, {workers} worker(s)\n")
        log.flush()
        since = len(log_path.read_text(errors="replace").splitlines())
        gw = Gateway(args.server, workers, env, log)
    try:
        points = []
        for stream in (False, True):
            direct, gateway = targets(sim_port, gw.port, key, stream)
            warm = loadgen.run(gateway, concurrency=4, duration=0.3, warmup=0.2, stream=stream, processes=1)
            answered += warm["answered"]
            for concurrency in args.concurrency:
                point = measure_point(direct, gateway, concurrency=concurrency, stream=stream,
                                      duration=args.duration, warmup=args.warmup, pids=gw.pids,
                                      writer_pids=[gw.writer.proc.pid] if gw.writer else [])
                points.append(point)
                answered += point["gateway"]["answered"]
                _progress(workers, point)
        held = slow_streams(gw, gw.port, key, streams=args.streams, chunk_delay_ms=args.chunk_delay)
        answered += held["answered"]
        print(f"  [{workers}w] {held['streams']} slow streams: {held['completed']} completed, "
              f"{held['errors']} errors, RSS {held['rss_mb_per_process']} MB", flush=True)
        peak = gw.peak_mb()
    finally:
        exit_code = gw.stop()
    logged = logged_requests(env, key_id)
    problems = log_problems(log_path, since)
    if problems:
        print(f"  [{workers}w] the gateway logged {len(problems)} warnings/errors: {problems[0][:160]}", flush=True)
    return {
        "workers": workers,
        "server": args.server,
        "points": points,
        "slow_streams": held,
        "peak_rss_mb_per_process": peak,
        "sigterm_exit_code": exit_code,
        "answered_200": answered,
        "request_logs_written": logged,
        "gateway_log_problem_count": len(problems),
        "gateway_log_problems": problems[:20],
    }


def _progress(workers: int, p: dict) -> None:
    kind = "stream" if p["stream"] else "whole "
    g, d = p["gateway"], p["direct"]
    extra = f" ttft+{p['added_ttft_p50_ms']}ms" if p["stream"] else ""
    writer = f" (+ log writer {p['writer_cpu_ms_per_request']})" if "writer_cpu_ms_per_request" in p else ""
    print(f"  [{workers}w] {kind} c={p['concurrency']:<3} gateway {g['rps']:>7} req/s p50 {g['p50_ms']}ms "
          f"p99 {g['p99_ms']}ms | direct {d['rps']:>7} req/s p50 {d['p50_ms']}ms | added p50 "
          f"{p['added_p50_ms']}ms{extra} | CPU {p['gateway_cpu_ms_per_request']}ms/req"
          f"{writer} | errors "
          f"{g['errors']}+{d['errors']}", flush=True)


# ------------------------------------------------------------------ report


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(int(mem) / 1024 / 1024, 1),
            "python": platform.python_version(), "kernel": platform.release()}


def table(results: dict) -> str:
    rows = ["| workers | mode | conc. | gateway req/s | direct req/s | gateway p50 / p99 ms | direct p50 / p99 ms "
            "| added p50 ms | gateway TTFT p50 ms | added TTFT ms | gateway CPU ms/req | errors |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in results["runs"]:
        for p in run["points"]:
            g, d = p["gateway"], p["direct"]
            rows.append(
                f"| {run['workers']} | {'stream' if p['stream'] else 'whole'} | {p['concurrency']} | {g['rps']:,.0f} "
                f"| {d['rps']:,.0f} | {_f(g['p50_ms'])} / {_f(g['p99_ms'])} | {_f(d['p50_ms'])} / {_f(d['p99_ms'])} "
                f"| {_f(p['added_p50_ms'])} | {_f(g['ttft_p50_ms'])} | {_f(p.get('added_ttft_p50_ms'))} "
                f"| {_f(p.get('gateway_cpu_ms_per_request'))} | {g['errors'] + d['errors']} |")
    rows.append("")
    rows.append("| workers | slow streams | completed | errors | stream p50 s | peak RSS MB per gateway process "
                "(during streams / whole run) | SIGTERM exit | log rows written / 200 answers |")
    rows.append("|---|---|---|---|---|---|---|---|")
    for run in results["runs"]:
        s = run["slow_streams"]
        rows.append(f"| {run['workers']} | {s['streams']} x chunk_delay:{s['chunk_delay_ms']} | {s['completed']} "
                    f"| {s['errors']} | {s['stream_p50_s']} | {s['rss_mb_per_process']} / "
                    f"{run['peak_rss_mb_per_process']} | {run['sigterm_exit_code']} "
                    f"| {run['request_logs_written']} / {run['answered_200']} |")
    return "\n".join(rows)


def _f(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def headline(results: dict) -> dict:
    """The figures the targets are about, per worker count."""
    out = {}
    for run in results["runs"]:
        pts = {(p["stream"], p["concurrency"]): p for p in run["points"]}
        c1, c64 = min(c for _, c in pts), max(c for _, c in pts)
        out[str(run["workers"])] = {
            "p50_added_ms_c1": pts[(False, c1)]["added_p50_ms"],
            "rps_c64_nonstream": pts[(False, c64)]["gateway"]["rps"],
            "ttft_added_ms_c1": pts[(True, c1)]["added_ttft_p50_ms"],
            "cpu_ms_per_request_c64_nonstream": pts[(False, c64)].get("gateway_cpu_ms_per_request"),
            "cpu_ms_per_request_c64_stream": pts[(True, c64)].get("gateway_cpu_ms_per_request"),
            "stream_rss_mb": max(run["slow_streams"]["rss_mb_per_process"] + run["peak_rss_mb_per_process"]),
            "slow_stream_errors": run["slow_streams"]["errors"],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run: fewer seconds per point, 1 worker, "
                        "200 slow streams")
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH as JSON")
    parser.add_argument("--workers", default=None, help="comma-separated gateway worker counts (default 1,2)")
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    parser.add_argument("--metrics", choices=("on", "off"), default="on",
                        help="GATEWAY_METRICS for the gateway: run twice to pair the CPU per request")
    parser.add_argument("--duration", type=float, default=None, help="measured seconds per point")
    parser.add_argument("--streams", type=int, default=None, help="slow streams held open at once (default 1000)")
    args = parser.parse_args(argv)
    args.warmup = 0.3 if args.quick else 1.0
    args.duration = args.duration or (0.7 if args.quick else 3.0)
    args.concurrency = [1, 16, 64]
    args.streams = args.streams or (200 if args.quick else 1000)
    args.chunk_delay = 150 if args.quick else 400
    worker_counts = [int(w) for w in (args.workers or ("1" if args.quick else "1,2")).split(",")]

    log_path = ROOT / "bench" / "results" / "last-run.log"
    log_path.parent.mkdir(exist_ok=True)
    log_path.write_text("")
    sim_port = free_port()
    env = production_env(sim_port)
    env["GATEWAY_METRICS"] = "1" if args.metrics == "on" else "0"
    raise_file_limit(args.streams)
    started = time.monotonic()
    print(f"bench: simulator on 127.0.0.1:{sim_port}; gateway logs in {log_path.relative_to(ROOT)}", flush=True)
    with log_path.open("a") as log:
        sim = start_simulator(sim_port, env, log)
    try:
        with log_path.open("a") as log:
            prepare(env, log)
        results = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "generator": "bench/loadgen.py (asyncio + uvloop + httptools, 1 process at c=1, 2 above)",
            "mode": "quick" if args.quick else "full",
            "settings": {"duration_s": args.duration, "warmup_s": args.warmup, "server": args.server,
                         "metrics": args.metrics},
            "targets": TARGETS,
            "runs": [run_workers(w, args, env, sim_port, log_path) for w in worker_counts],
        }
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    results["headline"] = headline(results)
    results["errors"] = sum(p["gateway"]["errors"] + p["direct"]["errors"] for r in results["runs"]
                            for p in r["points"]) + sum(r["slow_streams"]["errors"] for r in results["runs"])
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    print()
    print(table(results))
    print()
    for workers, figures in results["headline"].items():
        verdicts = []
        for name, target in TARGETS.items():
            value = figures[name]
            ok = value is not None and (value >= target if name.startswith("rps") else value < target)
            verdicts.append(f"{name}={value} ({'meets' if ok else 'misses'} {target})")
        print(f"{workers} worker(s): " + ", ".join(verdicts))
    print(f"errors: {results['errors']}; elapsed {results['elapsed_s']} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if results["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
