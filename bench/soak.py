"""The soak: minutes of mixed /v1 traffic with injected faults against the production configuration.

    python bench/soak.py                      # 10 minutes (the default)
    python bench/soak.py --duration 20 --json out.json

It starts the simulator and the gateway as bench/run.py does (DEBUG off, strong secrets,
PostgreSQL, Redis, uvicorn with uvloop), creates several users with two keys each (some
with credit, some without), then keeps ``--concurrency`` connections busy with a mix of
free and paid models, streams and not, refusals (no credit, unknown model) and upstream
faults the simulator injects per request (a 400, a failed first attempt, a stream that
fails midway, a slow answer). Every request has the outcome its kind allows; anything
else is an error. Afterwards it checks that requests sent = request-log rows, paid answers
= charges in the ledger, the gateway's memory stayed flat (RSS after warm-up against the
end) and that the gateway logged no traceback, prints a report and exits 1 on any
violation. Traffic goes only to 127.0.0.1. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stack import PYTHON, Gateway, free_port, prepare, production_env, start_simulator  # noqa: E402

FREE = "meta-llama/llama-3.3-70b-instruct:free"
# upstream_502_then_ok fails on FLAKY and is answered by FALLBACK: the router never resends a request to the
# key and model that failed it, and a model failing across requests is benched on that account, so FLAKY
# serves no other kind of request.
FLAKY = "google/gemma-3-27b-it:free"
FALLBACK = "qwen/qwen3-coder:free"
PAID = "openai/gpt-4o-mini"
USERS = 4  # even-numbered users have credit, odd ones have none

# kind -> (the statuses it may get, whether a 200 of it is charged)
KINDS: dict[str, tuple[set[int], bool]] = {
    "free": ({200}, False),
    "free_stream": ({200}, False),
    "paid": ({200}, True),
    "paid_stream": ({200}, True),
    "paid_without_credit": ({402}, False),
    "unknown_model": ({404}, False),
    "upstream_400": ({400}, False),
    "upstream_502_then_ok": ({200}, False),
    "midstream_failure": ({200}, False),
    "slow": ({200}, False),
}

SETUP_CODE = """
import json
from decimal import Decimal
from accounts.models import User
from accounts.services import credits_top_up, gateway_key_create, user_create
from models_catalog.models import CatalogModel
from models_catalog.services import catalog_seed
import secrets
CatalogModel.objects.filter(model_id="PAID").update(enabled=True, disabled_reason="")
users = []
for n in range(USERS):
    email = f"soak-{n}-SUFFIX@localhost"
    user = user_create(email=email, password=secrets.token_urlsafe(18))
    if n % 2 == 0:
        credits_top_up(user=user, amount=Decimal("1000"), note="soak")
    keys = [gateway_key_create(user=user, name=f"soak{k}").secret for k in range(2)]
    users.append({"id": user.id, "credit": n % 2 == 0, "keys": keys})
print(json.dumps(users))
"""

COUNT_CODE = """
import json
from accounts.models import LedgerEntry
from chat.models import RequestLog
ids = IDS
print(json.dumps({"log_rows": RequestLog.objects.filter(user_id__in=ids).count(),
                  "charges": LedgerEntry.objects.filter(user_id__in=ids, kind="charge").count()}))
"""


def _shell(env: dict[str, str], code: str):
    out = subprocess.run([PYTHON, str(ROOT / "manage.py"), "shell", "-c", code], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _request(kind: str, users: list[dict], rng: random.Random, n: int) -> tuple[str, dict]:
    """The key and body of one request of ``kind``."""
    credited = [u for u in users if u["credit"]]
    broke = [u for u in users if not u["credit"]]
    pool = broke if kind == "paid_without_credit" else credited if kind.startswith("paid") else users
    key = rng.choice(rng.choice(pool)["keys"])
    body: dict = {"model": PAID if kind.startswith("paid") else FREE, "max_tokens": 50,
                  "messages": [{"role": "user", "content": f"soak request {n} says hello"}]}
    if kind.endswith("stream") or kind == "midstream_failure":
        body["stream"] = True
    if kind == "unknown_model":
        body["model"] = "soak/no-such-model"
    if kind == "upstream_502_then_ok":
        body["model"], body["models"] = FLAKY, [FALLBACK]  # OpenRouter's fallback list: the second model answers
    faults = {"upstream_400": {"fault": "400"}, "midstream_failure": {"fault": "midstream"},
              "upstream_502_then_ok": {"faults": {FLAKY: "502"}, "times": 1, "id": f"soak-{n}"}, "slow": {"fault": "slow:200"}}
    if kind in faults:
        body["sim"] = faults[kind]
    return key, body


async def _one(client, url: str, kind: str, key: str, body: dict) -> tuple[int | str, bool]:
    """Send one request; return its status (or the exception's name) and whether it ended as it should."""
    import httpx

    try:
        async with client.stream("POST", f"{url}/v1/chat/completions", json=body,
                                 headers={"Authorization": f"Bearer {key}"}) as response:
            raw = await response.aread()
    except httpx.HTTPError as exc:
        return type(exc).__name__, False
    if response.status_code != 200 or not body.get("stream"):
        return response.status_code, b"Traceback" not in raw
    done = raw.rstrip().endswith(b"data: [DONE]")
    has_error = b'"error"' in raw
    return 200, done and (has_error == (kind == "midstream_failure"))


async def _traffic(url: str, users: list[dict], *, duration: float, concurrency: int, seed: int, on_warm) -> dict:
    import httpx

    rng = random.Random(seed)
    sent: Counter = Counter()
    outcomes: Counter = Counter()
    unexpected: list[str] = []
    paid_ok = 0
    counter = iter(range(10**9))
    started = time.monotonic()
    stop_at = started + duration
    warm_at = started + min(5.0, duration / 5)
    warmed = False

    async def worker() -> None:
        nonlocal paid_ok, warmed
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            while time.monotonic() < stop_at:
                n = next(counter)
                kind = rng.choice(list(KINDS))
                key, body = _request(kind, users, rng, n)
                sent[kind] += 1
                status, clean = await _one(client, url, kind, key, body)
                outcomes[f"{kind} {status}"] += 1
                allowed, charged = KINDS[kind]
                if status not in allowed or not clean:
                    unexpected.append(f"{kind}: {status}{'' if clean else ' (unclean end)'}")
                elif charged:
                    paid_ok += 1
                if not warmed and time.monotonic() >= warm_at:
                    warmed = True
                    on_warm()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"sent": sum(sent.values()), "sent_by_kind": dict(sent), "outcomes": dict(sorted(outcomes.items())),
            "unexpected": unexpected, "paid_answered": paid_ok, "seconds": round(time.monotonic() - started, 1)}


def _log_problems(path: Path) -> list[str]:
    return [line for line in path.read_text(errors="replace").splitlines()
            if any(w in line for w in ("Traceback", "CRITICAL", "ERROR"))]


def report(result: dict) -> str:
    lines = [f"soak: {result['traffic']['sent']} requests in {result['traffic']['seconds']} s "
             f"at concurrency {result['concurrency']}"]
    lines += [f"  {name:34} {count}" for name, count in result["traffic"]["outcomes"].items()]
    lines.append(f"  request-log rows {result['log_rows']} / requests sent {result['traffic']['sent']}")
    lines.append(f"  ledger charges {result['charges']} / paid answers {result['traffic']['paid_answered']}")
    lines.append(f"  RSS MB after warm-up {result['rss_start_mb']} -> end {result['rss_end_mb']} "
                 f"(allowed growth {result['max_rss_growth_mb']})")
    lines.append(f"  errors beyond the injected ones: {len(result['traffic']['unexpected'])}; "
                 f"gateway log problems: {len(result['gateway_log_problems'])}")
    lines.append("  invariants: " + ("all hold" if not result["violations"] else "; ".join(result["violations"])))
    return "\n".join(lines)


def check(result: dict) -> list[str]:
    """The invariants the soak proves; each broken one as a sentence."""
    traffic, broken = result["traffic"], []
    if result["log_rows"] != traffic["sent"]:
        broken.append(f"{traffic['sent']} requests sent but {result['log_rows']} log rows")
    if result["charges"] != traffic["paid_answered"]:
        broken.append(f"{traffic['paid_answered']} paid answers but {result['charges']} charges")
    if traffic["unexpected"]:
        broken.append(f"{len(traffic['unexpected'])} errors beyond the injected ones, e.g. {traffic['unexpected'][0]}")
    if result["rss_end_mb"] - result["rss_start_mb"] > result["max_rss_growth_mb"]:
        broken.append(f"RSS grew from {result['rss_start_mb']} to {result['rss_end_mb']} MB")
    if result["gateway_log_problems"]:
        broken.append(f"the gateway logged: {result['gateway_log_problems'][0][:160]}")
    if result["sigterm_exit_code"] not in (0, -15):
        broken.append(f"the gateway exited with {result['sigterm_exit_code']} on SIGTERM")
    return broken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of traffic (default 600)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections kept busy (default 16)")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--max-rss-growth-mb", type=float, default=64.0)
    parser.add_argument("--json", type=Path, help="also write the result as JSON")
    parser.add_argument("--log", type=Path, default=ROOT / "bench" / "results" / "soak.log")
    args = parser.parse_args(argv)

    sim_port = free_port()
    env = production_env(sim_port)
    env["DATABASE_URL"] = os.environ.get("SOAK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gw_soak")
    env["REDIS_URL"] = os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/7")
    args.log.parent.mkdir(parents=True, exist_ok=True)
    args.log.write_text("")
    with args.log.open("a") as log:
        sim = start_simulator(sim_port, env, log)
        try:
            prepare(env, log)
            setup = SETUP_CODE.replace("PAID", PAID).replace("USERS", str(USERS))
            users = _shell(env, setup.replace("SUFFIX", f"{int(time.time())}{os.getpid()}"))
            log.write("== gateway\n")
            log.flush()
            gw = Gateway("uvicorn", 1, env, log)
            rss: dict[str, float] = {}
            try:
                traffic = asyncio.run(_traffic(
                    f"http://127.0.0.1:{gw.port}", users, duration=args.duration, concurrency=args.concurrency,
                    seed=args.seed, on_warm=lambda: rss.setdefault("start", max(gw.rss_mb()))))
                rss["end"] = max(gw.rss_mb())
            finally:
                exit_code = gw.stop()
        finally:
            sim.terminate()
            sim.wait(timeout=10)
    counts = _shell(env, COUNT_CODE.replace("IDS", json.dumps([u["id"] for u in users])))
    result = {"duration_s": args.duration, "concurrency": args.concurrency, "traffic": traffic, **counts,
              "rss_start_mb": rss.get("start", rss["end"]), "rss_end_mb": rss["end"],
              "max_rss_growth_mb": args.max_rss_growth_mb, "sigterm_exit_code": exit_code,
              "gateway_log_problems": _log_problems(args.log)[:20]}
    result["violations"] = check(result)
    print(report(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 1 if result["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
