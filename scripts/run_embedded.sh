#!/usr/bin/env bash
# Bring the gateway up on the embedded default. With no upstream key configured it
# starts the OpenRouter simulator and points the gateway at it, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
# The demo lets anyone on this machine sign up (production default: closed, by invite).
export GATEWAY_REGISTRATION_OPEN="${GATEWAY_REGISTRATION_OPEN:-1}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
SIM_PORT="${SIM_PORT:-8090}"

sim_pid=""
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true; }
trap cleanup EXIT

if [ -z "${OPENROUTER_API_KEYS:-}" ] && [ -z "${OPENROUTER_BASE_URL:-}" ]; then
  echo ">> No OPENROUTER_API_KEYS set: starting the OpenRouter simulator on http://127.0.0.1:${SIM_PORT} (offline demo)."
  python -m chat.simulator --port "$SIM_PORT" &
  sim_pid=$!
  export OPENROUTER_BASE_URL="http://127.0.0.1:${SIM_PORT}/api/v1"
  export OPENROUTER_API_KEYS="sk-or-simulator-demo-key"
  for _ in $(seq 50); do
    python - "$SIM_PORT" <<'PY' && break
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_sim/state", timeout=0.5)
except Exception:
    sys.exit(1)
PY
    sleep 0.2
  done
  echo ">> The gateway uses the simulator at $OPENROUTER_BASE_URL"
  demo=1
else
  demo=0
fi

python manage.py migrate --noinput -v 0
python manage.py seed
if [ "$demo" = 1 ]; then
  python manage.py sync_models --enable-free
else
  python manage.py sync_models || echo ">> catalog sync failed; the admin's model page says why"
fi
echo ">> Gateway on http://${HOST}:${PORT}  (OpenAI base URL: http://${HOST}:${PORT}/v1)"
# --no-proxy-headers: only gateway_project/forwarded.py (TRUSTED_PROXIES) reads X-Forwarded-*.
exec_args=(uvicorn gateway_project.asgi:application --host "$HOST" --port "$PORT" --no-access-log --no-proxy-headers)
if [ -n "$sim_pid" ]; then
  "${exec_args[@]}"
else
  exec "${exec_args[@]}"
fi
