#!/bin/sh
# The container's entrypoint. Subcommands:
#   web          migrate, then uvicorn gateway_project.asgi:application on 0.0.0.0:8000
#                with $WEB_CONCURRENCY workers (default 2); uvicorn never reads X-Forwarded-*
#                itself (--no-proxy-headers): the app trusts them only from $TRUSTED_PROXIES
#   log-writer   python manage.py write_request_logs (GATEWAY_LOG_QUEUE=redis), heartbeat in /tmp
#   worker       celery -A gateway_project worker
#   beat         celery -A gateway_project beat (schedule file in /tmp: the root filesystem is read-only)
#   migrate      python manage.py migrate
#   manage ...   python manage.py ...
# Anything else runs as given. Works outside Docker too (it changes to the project folder).
set -eu
cd "$(dirname "$0")/.."

command="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$command" in
  web)
    python manage.py migrate --noinput
    exec uvicorn gateway_project.asgi:application --host 0.0.0.0 --port 8000 \
      --workers "${WEB_CONCURRENCY:-2}" --no-access-log --no-proxy-headers "$@"
    ;;
  log-writer)
    exec python manage.py write_request_logs --heartbeat /tmp/log-writer.alive "$@"
    ;;
  worker)
    exec celery -A gateway_project worker --loglevel INFO "$@"
    ;;
  beat)
    exec celery -A gateway_project beat --loglevel INFO --schedule /tmp/celerybeat-schedule "$@"
    ;;
  migrate)
    exec python manage.py migrate --noinput "$@"
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  *)
    exec "$command" "$@"
    ;;
esac
