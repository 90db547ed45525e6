#!/usr/bin/env bash
# Development only: drop and recreate the local database under var/, then migrate and seed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
services_up "$ROOT/var"
port="$(cat var/pg/port)"
runuser -u postgres -- psql -q -h "$ROOT/var/pg/sock" -p "$port" -U postgres -c "DROP DATABASE IF EXISTS clinic WITH (FORCE)"
runuser -u postgres -- psql -q -h "$ROOT/var/pg/sock" -p "$port" -U postgres -c "CREATE DATABASE clinic OWNER clinic"
DJANGO_SETTINGS_MODULE=config.settings.local "$PY" manage.py migrate -v0
DJANGO_SETTINGS_MODULE=config.settings.local "$PY" manage.py seed_demo --password "${DEMO_PASSWORD:-demo}"
