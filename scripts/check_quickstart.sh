#!/usr/bin/env bash
# Run the README's first command (`make run`) in a clean copy of this checkout and
# wait for /health/ready to answer 200. Used by CI; handy before a release.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
sim_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
git clone -q "$src" "$work/gateway"
cd "$work/gateway"
make run PORT="$port" SIM_PORT="$sim_port" > "$work/run.log" 2>&1 &
pid=$!
cleanup() { kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; pkill -f "port $sim_port" 2>/dev/null || true; pkill -f "port $port" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 300); do
  if curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then
    echo "quick start answered on http://127.0.0.1:$port/health/ready"
    curl -fsS "http://127.0.0.1:$port/health/ready"; echo
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 1
done
echo "quick start did not answer; its output:" >&2
cat "$work/run.log" >&2
exit 1
