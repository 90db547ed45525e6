#!/usr/bin/env bash
# `make bench`: every benchmark under benchmarks/ against the PostgreSQL and Redis the service
# uses (var/, or DATABASE_URL / REDIS_URL), in a database of its own (clinic_bench), with the
# web app under gunicorn. Prints each figure with its target and ratio; a copy goes to
# benchmarks/results/latest.txt.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_venv
mkdir -p var benchmarks/results
services_up "$ROOT/var"
BASE_DB_URL="$DATABASE_URL"
BENCH_DB_URL="${BASE_DB_URL%/*}/clinic_bench"
export DJANGO_SETTINGS_MODULE=config.settings.bench
export DATABASE_URL="$BENCH_DB_URL"
"$PY" - "$BASE_DB_URL" <<'PY'
import sys, psycopg
url = sys.argv[1].rsplit("/", 1)[0] + "/postgres"
with psycopg.connect(url, autocommit=True) as conn:
    conn.execute("DROP DATABASE IF EXISTS clinic_bench WITH (FORCE)")
    conn.execute("CREATE DATABASE clinic_bench")
PY
"$PY" manage.py migrate --noinput -v 0

WEB_PORT="$(free_port)"
"$VENV/bin/gunicorn" config.wsgi --env DJANGO_SETTINGS_MODULE=config.settings.bench \
  --bind "127.0.0.1:$WEB_PORT" --workers "${BENCH_WEB_WORKERS:-3}" --log-level warning >var/bench-web.log 2>&1 &
WEB_PID=$!
trap 'kill $WEB_PID 2>/dev/null || true; wait $WEB_PID 2>/dev/null || true; services_down' EXIT
for _ in $(seq 100); do port_in_use "$WEB_PORT" && break; sleep 0.1; done
export BENCH_BASE_URL="http://127.0.0.1:$WEB_PORT"

out=benchmarks/results/latest.txt
{
  echo "# make bench, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -srm); PostgreSQL $(psql --version | awk '{print $3}'); gunicorn ${BENCH_WEB_WORKERS:-3} workers"
} | tee "$out"
for bench in benchmarks/${BENCH:-[a-z]*}.py; do
  say "$bench"
  "$PY" "$bench" 2>&1 | tee -a "$out"
done
