"""Where one gateway worker spends its CPU on /v1: a sampling profile under load, summarised.

    python bench/profile.py                       # c=64, non-streaming, 8 s under py-spy
    python bench/profile.py --stream --concurrency 16 --seconds 5

It starts the same stack as bench/run.py (simulator, production settings, one uvicorn
worker), drives it with bench/loadgen.py, and records the worker with py-spy (a
requirements-dev package; it samples from outside the process, so the gateway runs
unmodified). It prints the heaviest functions by inclusive and by own time, as shares
of the samples, and keeps the collapsed stacks in bench/results/profile.txt (any
flame-graph tool reads them). Loopback only; every phase is bounded.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import loadgen  # noqa: E402
from bench.run import targets  # noqa: E402
from bench.stack import Gateway, cpu_seconds, free_port, new_key, prepare, production_env, start_simulator  # noqa: E402

PY_SPY = Path(sys.executable).with_name("py-spy")


def summarise(collapsed: Path, top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [f.rsplit(" (", 1)[0] + " (" + f.rsplit(" (", 1)[1].split(":")[0] + ")" if " (" in f else f
                  for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    lines = [f"{total} samples"]
    for title, counter in (("inclusive", inclusive), ("own", own)):
        lines.append(f"\n-- {title}")
        for frame, n in counter.most_common(top):
            lines.append(f"{100 * n / total:5.1f}%  {frame}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    args = parser.parse_args(argv)

    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    collapsed = results / "profile.txt"
    log_path = results / "profile-run.log"
    sim_port = free_port()
    with log_path.open("w") as log:
        env = production_env(sim_port)
        sim = start_simulator(sim_port, env, log)
        gw = None
        try:
            prepare(env, log)
            _, key = new_key(env)
            gw = Gateway(args.server, 1, env, log)
            _, gateway = targets(sim_port, gw.port, key, args.stream)
            loadgen.run(gateway, concurrency=8, duration=1.0, warmup=0.5, stream=args.stream, processes=1)
            spy = subprocess.Popen([str(PY_SPY), "record", "--pid", str(gw.pids[0]), "--rate", "250",
                                    "--duration", str(int(args.seconds) + 1), "--format", "raw", "--nonblocking",
                                    "--output", str(collapsed)], stdout=log, stderr=subprocess.STDOUT)
            result: dict = {}
            cpu_before = cpu_seconds(gw.pids)
            worker = threading.Thread(target=lambda: result.update(loadgen.run(
                gateway, concurrency=args.concurrency, duration=args.seconds, warmup=0.5, stream=args.stream,
                processes=1 if args.concurrency == 1 else 2)))
            worker.start()
            worker.join()
            cpu = cpu_seconds(gw.pids) - cpu_before
            spy.wait(timeout=args.seconds + 30)
        finally:
            if gw is not None:
                gw.stop()
            sim.terminate()
            sim.wait(timeout=10)
    answered = result.get("answered") or 0
    print(f"{result.get('rps')} req/s, errors {result.get('errors')}, "
          f"CPU {cpu * 1000 / answered:.3f} ms per answer (py-spy's own sampling included)" if answered else result)
    print(summarise(collapsed, args.top))
    print(f"\ncollapsed stacks: {collapsed.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
