#!/usr/bin/env bash
# Quickstart 2: set up and run the whole test suite: lint, import contracts, mypy, pytest on SQLite, then the
# database tests again on PostgreSQL (127.0.0.1:5432, database `test`; started here if it is down).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh test
export PATH="$PWD/.venv/bin:$PATH"
export PYTHONDONTWRITEBYTECODE=1

echo "== ruff"
ruff check .
ruff format --check .
echo "== import contracts"
lint-imports --no-cache
echo "== mypy (strict on the job core and the API families; see [tool.mypy] in pyproject.toml)"
mypy

PG_URL=${NU3D_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/test}
pg_up() { .venv/bin/python - "$PG_URL" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as err:
    print(f"postgres not reachable: {err}".splitlines()[0], file=sys.stderr); sys.exit(1)
PY
}
if ! pg_up 2>/dev/null && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "== starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_up 2>/dev/null && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1; then
  echo "== starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
fi

# Browser tests drive Debian's chromium (never a downloaded browser); the glTF validator test needs node.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "== installing Debian chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "!! could not install chromium; browser tests will report it" >&2
fi
command -v node >/dev/null 2>&1 || echo "!! node not found: the glTF validator test will fail (install nodejs)" >&2

echo "== pytest (SQLite)"
python -m pytest "$@"

if pg_up; then
  echo "== pytest (PostgreSQL: database tests)"
  NU3D_TEST_DATABASE_URL="$PG_URL" NU3D_TEST_DB_ONLY=1 python -m pytest "$@"
elif [ "${NU3D_SKIP_POSTGRES:-0}" = "1" ]; then
  echo "!! PostgreSQL not reachable at $PG_URL: skipped because NU3D_SKIP_POSTGRES=1" >&2
else
  echo "PostgreSQL is not reachable at $PG_URL; start it, or set NU3D_SKIP_POSTGRES=1 to run SQLite only" >&2
  exit 1
fi
