#!/usr/bin/env bash
# `make run`: set-up, PostgreSQL and Redis under var/ (unless DATABASE_URL / REDIS_URL are
# given), migrations, demo data, then gunicorn, a Celery worker and Celery beat.
# Ctrl-C stops everything this run started; a second run reuses what exists.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PORT="${PORT:-8000}"
if port_in_use "$PORT"; then
  echo "Port $PORT is already in use by another program. Stop it, or choose another port: PORT=8001 make run" >&2
  exit 1
fi

ensure_venv
mkdir -p var
PIDS=()
stop_all() {
  trap - INT TERM EXIT
  if [ ${#PIDS[@]} -gt 0 ]; then
    say "Stopping the web server, worker and beat"
    kill -TERM "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
  if [ -n "$STARTED_PG$STARTED_REDIS" ]; then say "Stopping PostgreSQL and Redis"; fi
  services_down
}
trap stop_all EXIT
trap 'exit 130' INT TERM
services_up "$ROOT/var"
export DJANGO_SETTINGS_MODULE=config.settings.local
export CELERY_BEAT_SCHEDULE_FILENAME="$ROOT/var/celerybeat-schedule"

if [ -n "${DEMO_PASSWORD:-}" ]; then
  password="$DEMO_PASSWORD"
elif [ -f var/demo-password ]; then
  password="$(cat var/demo-password)"
else
  password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')"
  (umask 077; echo "$password" >var/demo-password)
fi

say "Migrating the database"
"$PY" manage.py migrate --noinput -v 0
say "Loading demo data"
"$PY" manage.py seed_demo --password "$password"
"$PY" manage.py collectstatic --noinput -v 0

say "Starting gunicorn, a Celery worker and Celery beat"
"$VENV/bin/gunicorn" config.wsgi --env DJANGO_SETTINGS_MODULE=config.settings.local \
  --bind "127.0.0.1:$PORT" --workers "${WEB_CONCURRENCY:-3}" --access-logfile - >var/web.log 2>&1 &
PIDS+=($!)
"$VENV/bin/celery" -A config worker --loglevel=INFO --concurrency=2 >var/worker.log 2>&1 &
PIDS+=($!)
"$VENV/bin/celery" -A config beat --loglevel=INFO -s "$CELERY_BEAT_SCHEDULE_FILENAME" >var/beat.log 2>&1 &
PIDS+=($!)

# --- Push server (issue 15): Channels under daphne on its own port; pages connect to it. ---
LIVE_PORT="${LIVE_PORT:-8001}"
if port_in_use "$LIVE_PORT"; then
  echo "Port $LIVE_PORT (the push server) is in use. Choose another: LIVE_PORT=8002 make run" >&2
  exit 1
fi
export LIVE_PORT
"$VENV/bin/daphne" -b 127.0.0.1 -p "$LIVE_PORT" config.asgi:application >var/live.log 2>&1 &
PIDS+=($!)
# --- end of the push server ---

for _ in $(seq 100); do port_in_use "$PORT" && break; sleep 0.1; done
cat <<MSG

  The clinic service is running at http://127.0.0.1:$PORT/
    API docs:   http://127.0.0.1:$PORT/api/docs/
    Admin:      http://127.0.0.1:$PORT/admin/
  Demo accounts (password: $password):
    admin, clinician, nurse, frontdesk, patient
  Logs: var/web.log, var/worker.log, var/beat.log, var/live.log (push, port $LIVE_PORT)
  Press Ctrl-C to stop.

MSG
rc=0
wait -n "${PIDS[@]}" || rc=$?
case "$rc" in
  0 | 130 | 143) exit 0 ;;  # stopped by Ctrl-C or SIGTERM
  *) echo "A process stopped unexpectedly (exit $rc); see the logs in var/." >&2; exit 1 ;;
esac
