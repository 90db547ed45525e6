# Shared set-up for `make run`, `make test` and `make bench`. Source it; do not run it.
# Works on a fresh Debian machine as root with only Python installed (no systemd).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STARTED_PG=""
STARTED_REDIS=""

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages the local services (and browser tests) need, installed only when missing.
ensure_debian_packages() {
  local want=()
  if [ -z "${DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    want+=(postgresql postgresql-contrib)
  fi
  if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
    want+=(redis-server)
  fi
  if [ -n "${WANT_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
    want+=(chromium fonts-dejavu-core)
  fi
  if [ ${#want[@]} -gt 0 ]; then
    say "Installing Debian packages: ${want[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
  fi
}

ensure_venv() {
  local stamp="$VENV/.requirements.sha" want
  want="$(cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" | sha256sum | cut -d' ' -f1)"
  if [ ! -x "$PY" ]; then
    say "Creating the virtualenv in .venv"
    python3 -m venv "$VENV" || { as_root apt-get update -qq && as_root apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$VENV"; }
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "Installing Python packages"
    "$PY" -m pip install -q --disable-pip-version-check --upgrade pip
    "$PY" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements-dev.txt"
    echo "$want" >"$stamp"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_in_use() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)
PY
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

# A private PostgreSQL cluster under $1 (touches nothing in /etc or /var). Exports DATABASE_URL.
pg_up() {
  local dir="$1" data sock port bin
  bin="$(pg_bin)"
  mkdir -p "$dir"
  # initdb refuses root: the cluster runs as the postgres OS user, which must reach $dir.
  if ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
    local alt="/var/tmp/clinic-pg-$(echo "$dir" | sha256sum | cut -c1-12)"
    mkdir -p "$alt" && chmod 755 "$alt"
    [ -L "$dir/pg" ] || ln -sfn "$alt" "$dir/pg"
  fi
  install -d -o postgres -g postgres "$dir/pg" "$dir/pg/sock"
  install -d -m 700 -o postgres -g postgres "$dir/pg/data"
  data="$dir/pg/data"; sock="$dir/pg/sock"
  if [ ! -f "$data/PG_VERSION" ]; then
    runuser -u postgres -- "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  if runuser -u postgres -- "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    port="$(cat "$dir/pg/port")"
  else
    port="$(cat "$dir/pg/port" 2>/dev/null || true)"
    if [ -z "$port" ] || port_in_use "$port"; then port="$(free_port)"; fi
    echo "$port" >"$dir/pg/port"
    runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$dir/pg/server.log" -w \
      -o "-p $port -k $sock -c listen_addresses=127.0.0.1 -c fsync=${PG_FSYNC:-on}" start >/dev/null
    STARTED_PG="$data"
  fi
  runuser -u postgres -- psql -q -h "$sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
SELECT 'CREATE ROLE clinic LOGIN CREATEDB PASSWORD ''clinic'''
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clinic') \gexec
SELECT 'CREATE DATABASE clinic OWNER clinic'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'clinic') \gexec
SQL
  export DATABASE_URL="postgres://clinic:clinic@127.0.0.1:$port/clinic"
}

pg_down() {
  [ -n "$STARTED_PG" ] || return 0
  runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$STARTED_PG" stop -m fast >/dev/null 2>&1 || true
  STARTED_PG=""
}

# A private Redis under $1. Exports REDIS_URL.
redis_up() {
  local dir="$1/redis" port
  mkdir -p "$dir"
  if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
    port="$(cat "$dir/port")"
  else
    port="$(cat "$dir/port" 2>/dev/null || true)"
    if [ -z "$port" ] || port_in_use "$port"; then port="$(free_port)"; fi
    echo "$port" >"$dir/port"
    redis-server --daemonize yes --port "$port" --bind 127.0.0.1 --dir "$dir" \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save "" --appendonly yes >/dev/null
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    STARTED_REDIS="$port"
  fi
  export REDIS_URL="redis://127.0.0.1:$port/0"
  export REDIS_DIR="$dir"
}

redis_down() {
  [ -n "$STARTED_REDIS" ] || return 0
  redis-cli -p "$STARTED_REDIS" shutdown nosave >/dev/null 2>&1 || true
  STARTED_REDIS=""
}

# PostgreSQL and Redis: the ones named by DATABASE_URL / REDIS_URL, or private ones under $1.
services_up() {
  local dir="$1"
  ensure_debian_packages
  if [ -z "${DATABASE_URL:-}" ]; then pg_up "$dir"; fi
  if [ -z "${REDIS_URL:-}" ]; then redis_up "$dir"; fi
}

services_down() { pg_down; redis_down; }
