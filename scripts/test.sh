#!/usr/bin/env bash
# `make test`: set-up, throwaway PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL are
# given), then ruff, mypy, import-linter and pytest. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

WANT_CHROMIUM=1 ensure_debian_packages
ensure_venv
RUN_DIR="$(mktemp -d /tmp/clinic-test.XXXXXX)"
chmod 755 "$RUN_DIR"
cleanup() { services_down; rm -rf "$RUN_DIR"; }
trap cleanup EXIT
PG_FSYNC=off services_up "$RUN_DIR"
export DJANGO_SETTINGS_MODULE=config.settings.test

say "ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
say "mypy"
"$VENV/bin/mypy" .
say "import-linter"
"$VENV/bin/lint-imports"
say "migrations are complete"
"$PY" manage.py makemigrations --check --dry-run >/dev/null
# Most tests run on both cores (pytest-xdist, a database per worker); the tests that start
# Celery workers or drive Chromium run afterwards, one at a time.
say "pytest: in parallel"
"$PY" -m pytest -n "${PYTEST_WORKERS:-2}" -m "not worker and not browser" "$@"
say "pytest: Celery worker and browser tests"
rc=0
"$PY" -m pytest -m "worker or browser" "$@" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || exit "$rc"  # 5: the arguments selected none of these
