#!/usr/bin/env bash
# Run the README's quick start in a clean copy of this checkout: `make run`, wait for
# /health/ready, call /v1 with the gateway key make run printed, then, as in a new
# terminal (none of make run's environment), run the README's create_api_key command and
# call /v1 with that key too. Used by CI; handy before a release.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
sim_port="$(free_port)"
base="http://127.0.0.1:$port"
git clone -q "$src" "$work/gateway"
cd "$work/gateway"
# Its own session, so that cleanup ends make, the gateway and the simulator by one id.
setsid make run PORT="$port" SIM_PORT="$sim_port" > "$work/run.log" 2>&1 &
pid=$!
cleanup() { kill -- -"$pid" 2>/dev/null || true; }
trap cleanup EXIT

fail() { echo "quick start: $1; make run's output:" >&2; cat "$work/run.log" >&2; exit 1; }

chat() {  # chat KEY: one /v1 chat completion; print the answer's text
  curl -fsS "$base/v1/chat/completions" -H "Authorization: Bearer $1" -H "Content-Type: application/json" \
    -d '{"model": "meta-llama/llama-3.3-70b-instruct:free", "messages": [{"role": "user", "content": "Hello"}]}' \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["choices"][0]["message"]["content"])'
}

ready=0
for _ in $(seq 300); do
  if curl -fsS "$base/health/ready" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
[ "$ready" = 1 ] || fail "did not answer on /health/ready"
echo "quick start answered on $base/health/ready: $(curl -fsS "$base/health/ready")"

key="$(sed -n 's/^>> The admin.s gateway key (shown once, on first start): \(sk-gw-[A-Za-z0-9_-]*\)$/\1/p' "$work/run.log")"
[ -n "$key" ] || fail "printed no gateway key"
answer="$(chat "$key")" || fail "the printed key did not work on /v1/chat/completions"
echo "the printed key works on /v1: $answer"

new_key="$(env -i HOME="$HOME" PATH=/usr/local/bin:/usr/bin:/bin bash -c \
  '.venv/bin/python manage.py create_api_key --email admin@localhost' | tail -n 1)" \
  || fail "create_api_key failed in a new terminal"
answer="$(chat "$new_key")" || fail "the key from create_api_key did not work on /v1/chat/completions"
echo "create_api_key in a new terminal works on /v1: $answer"
