"""Two gateways side by side, measured in turn: the paired comparison behind each hot-path change.

    python bench/ab.py --b-root ../other-checkout            # this checkout (A) against another (B)
    python bench/ab.py --b-env GATEWAY_METRICS=0             # the same code, one setting changed
    python bench/ab.py --b-root ../base --stream --concurrency 1 --rounds 12

Both gateways run at once (one uvicorn worker each, production settings, each with its
own database and Redis database) against one simulator, and take turns under the same
closed-loop load: A B B A A B ... in short rounds, so that a machine whose speed drifts
from minute to minute (these are shared) moves both sides alike. Each round reports the
gateway's CPU per answer (utime + stime of its process over the round), its
requests per second, its CPU per answer with its request-log writer's added
(a side that has one: GATEWAY_LOG_QUEUE=redis), and its p99 latency; the summary gives the median of the per-round ratios A/B with
their range. An idle gateway costs nothing, so the turns do not disturb each other.
Loopback only; every phase is bounded.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import loadgen  # noqa: E402
from bench.run import targets  # noqa: E402
from bench.stack import Gateway, cpu_seconds, free_port, new_key, prepare, production_env, start_simulator  # noqa: E402


def side_env(sim_port: int, database: str, redis_db: int, extra: list[str]) -> dict[str, str]:
    env = production_env(sim_port)
    env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + "/" + database
    env["REDIS_URL"] = env["REDIS_URL"].rsplit("/", 1)[0] + f"/{redis_db}"
    for item in extra:
        name, _, value = item.partition("=")
        env[name] = value
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--b-root", type=Path, default=ROOT, help="the other checkout (default: this one)")
    parser.add_argument("--a-env", action="append", default=[], metavar="NAME=VALUE", help="a setting of A only")
    parser.add_argument("--b-env", action="append", default=[], metavar="NAME=VALUE", help="a setting of B only")
    parser.add_argument("--rounds", type=int, default=10, help="turns of each side")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per turn")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--stream", action="store_true")
    args = parser.parse_args(argv)

    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    sim_port = free_port()
    sides = {"A": (ROOT, side_env(sim_port, "gw_bench_a", 7, args.a_env)),
             "B": (args.b_root.resolve(), side_env(sim_port, "gw_bench_b", 8, args.b_env))}
    gateways: dict[str, Gateway] = {}
    loads: dict[str, loadgen.Target] = {}
    with (results / "ab-run.log").open("w") as log:
        sim = start_simulator(sim_port, sides["A"][1], log)
        try:
            for name, (root, env) in sides.items():
                prepare(env, log, root)
                _, key = new_key(env, root)
                gateways[name] = Gateway("uvicorn", 1, env, log, root)
                _, loads[name] = targets(sim_port, gateways[name].port, key, args.stream)
                loadgen.run(loads[name], concurrency=8, duration=1.0, warmup=0.5, stream=args.stream, processes=1)
            rows = {"A": [], "B": []}
            order = "AB"
            for turn in range(args.rounds):
                for name in order:
                    pids = gateways[name].pids
                    before, writer_before = cpu_seconds(pids), gateways[name].writer_cpu_seconds()
                    got = loadgen.run(loads[name], concurrency=args.concurrency, duration=args.seconds, warmup=0.3,
                                      stream=args.stream, processes=1 if args.concurrency == 1 else 2)
                    cpu = cpu_seconds(pids) - before
                    with_writer = cpu + gateways[name].writer_cpu_seconds() - writer_before
                    if got["errors"] or not got["answered"]:
                        print(f"{name} round {turn + 1}: {got['errors']} errors, {got['answered']} answers",
                              file=sys.stderr)
                        return 1
                    rows[name].append((cpu * 1000 / got["answered"], got["rps"], with_writer * 1000 / got["answered"],
                                       got["p99_ms"]))
                    print(f"round {turn + 1:2} {name}: {rows[name][-1][0]:.3f} ms CPU per answer, "
                          f"{got['rps']:.0f} req/s", flush=True)
                order = order[::-1]  # A B, B A, A B: drift within a round falls on both sides
        finally:
            for gateway in gateways.values():
                gateway.stop()
            sim.terminate()
            sim.wait(timeout=10)
    print(f"\nA = {ROOT} {' '.join(args.a_env)}\nB = {sides['B'][0]} {' '.join(args.b_env)}")
    print(f"c={args.concurrency} {'streaming' if args.stream else 'non-streaming'}, {args.rounds} rounds of "
          f"{args.seconds:g} s")
    # The third figure adds the request-log writer's process (GATEWAY_LOG_QUEUE=redis) to the gateway's CPU.
    for label, index in (("CPU per answer", 0), ("req/s", 1), ("CPU + writer", 2), ("p99 ms", 3)):
        ratios = [a[index] / b[index] for a, b in zip(rows["A"], rows["B"], strict=True)]
        med_a = statistics.median(r[index] for r in rows["A"])
        med_b = statistics.median(r[index] for r in rows["B"])
        print(f"{label:15} A {med_a:9.3f}  B {med_b:9.3f}  A/B median {statistics.median(ratios):.3f} "
              f"(range {min(ratios):.3f}-{max(ratios):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
