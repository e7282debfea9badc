#!/usr/bin/env bash
# Bring the gateway up on the embedded default. With no upstream key configured it
# starts the OpenRouter simulator and points the gateway at it, and says so.
#
# What the embedded mode needs (DEBUG, the simulator's address and demo key) is written
# to the checkout's .env, which gateway_project/config.py reads for every command run
# here (real environment variables win), so `python manage.py ...` works in a new
# terminal. A .env that make run did not write is the operator's: it is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
# The demo lets anyone on this machine sign up (production default: closed, by invite): .env says so.
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
SIM_PORT="${SIM_PORT:-8090}"
ENV_MARK="# Written by make run"
SIM_BASE_URL="http://127.0.0.1:${SIM_PORT}/api/v1"
SIM_KEY="sk-or-simulator-demo-key"

sim_pid=""
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true; }
trap cleanup EXIT

upstream_in_env=0
if [ -n "${OPENROUTER_API_KEYS:-}" ] || [ -n "${OPENROUTER_BASE_URL:-}" ]; then upstream_in_env=1; fi

if [ ! -e .env ] || [ "$(head -n 1 .env)" = "$ENV_MARK (embedded mode); delete it to start over." ]; then
  # Ours to (re)write: the simulator's port may differ from the last run.
  demo=$((1 - upstream_in_env))
  {
    echo "$ENV_MARK (embedded mode); delete it to start over."
    echo "# Every command in this checkout reads it (gateway_project/config.py); real environment variables win."
    echo "DJANGO_DEBUG=1"
    echo "GATEWAY_REGISTRATION_OPEN=1"
    if [ "$demo" = 1 ]; then
      echo "OPENROUTER_BASE_URL=$SIM_BASE_URL"
      echo "OPENROUTER_API_KEYS=$SIM_KEY"
    fi
  } > .env.tmp
  chmod 600 .env.tmp
  mv .env.tmp .env
  echo ">> Embedded settings written to .env (read by every command in this checkout)."
else
  echo ">> Using your .env as it is (make run writes only a .env of its own)."
  if [ "$upstream_in_env" = 0 ] && ! grep -Eq '^[[:space:]]*(export[[:space:]]+)?OPENROUTER_(API_KEYS|BASE_URL)=[^[:space:]]' .env; then
    demo=1
    export OPENROUTER_BASE_URL="$SIM_BASE_URL" OPENROUTER_API_KEYS="$SIM_KEY"
    echo ">> Your .env names no upstream: this process uses the simulator; other commands see only your .env."
  else
    demo=0
  fi
  grep -Eq '^[[:space:]]*(export[[:space:]]+)?DJANGO_DEBUG=' .env || export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
  grep -Eq '^[[:space:]]*(export[[:space:]]+)?GATEWAY_REGISTRATION_OPEN=' .env \
    || export GATEWAY_REGISTRATION_OPEN="${GATEWAY_REGISTRATION_OPEN:-1}"
fi

if [ "$demo" = 1 ]; then
  echo ">> No upstream key configured: starting the OpenRouter simulator on http://127.0.0.1:${SIM_PORT} (offline demo)."
  python -m simulator --port "$SIM_PORT" &
  sim_pid=$!
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
  echo ">> The gateway uses the simulator at $SIM_BASE_URL"
fi

python manage.py migrate --noinput -v 0
seed_output="$(python manage.py seed --with-key)"
echo "$seed_output"
first_key="$(grep -o 'sk-gw-[A-Za-z0-9_-]*' <<<"$seed_output" | tail -n 1 || true)"
if [ "$demo" = 1 ]; then
  python manage.py sync_models --enable-free
else
  python manage.py sync_models || echo ">> catalog sync failed; the admin's model page says why"
fi
echo ">> Gateway on http://${HOST}:${PORT}  (OpenAI base URL: http://${HOST}:${PORT}/v1)"
if [ -n "$first_key" ]; then
  echo ">> The admin's gateway key (shown once, on first start): $first_key"
fi
# --no-proxy-headers: only gateway_project/forwarded.py (TRUSTED_PROXIES) reads X-Forwarded-*.
exec_args=(uvicorn gateway_project.asgi:application --host "$HOST" --port "$PORT" --no-access-log --no-proxy-headers)
if [ -n "$sim_pid" ]; then
  "${exec_args[@]}"
else
  exec "${exec_args[@]}"
fi
