#!/usr/bin/env bash
# Makes the machine's PostgreSQL usable for orch's tests and for ORCH_DATABASE_URL=postgres://…
# Idempotent: starts the Debian cluster only when it is down, then (re)sets the postgres role's
# password to match the tests' default URL, postgres://postgres:postgres@127.0.0.1:5432/postgres.
# Exits 3 when PostgreSQL is not installed, so callers can tell "absent" from "broken".
set -euo pipefail

password="${ORCH_PG_PASSWORD:-postgres}"

if ! command -v pg_lsclusters >/dev/null 2>&1 || [ ! -d /etc/postgresql ]; then
  echo "start-postgres: PostgreSQL is not installed (no pg_lsclusters or /etc/postgresql)" >&2
  exit 3
fi

# Whichever major version /etc/postgresql holds; the newest when there are several.
version=$(ls /etc/postgresql | sort -V | tail -n 1)
cluster=main
if [ -z "$version" ] || [ ! -d "/etc/postgresql/$version/$cluster" ]; then
  echo "start-postgres: no cluster under /etc/postgresql (found '${version:-nothing}')" >&2
  exit 3
fi

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

status=$(pg_lsclusters --no-header | awk -v v="$version" -v c="$cluster" '$1==v && $2==c {print $4}')
if [ "$status" != "online" ]; then
  echo "start-postgres: starting cluster $version/$cluster" >&2
  pg_ctlcluster "$version" "$cluster" start
fi

# The server accepts connections a moment after pg_ctlcluster returns on slow machines.
for _ in $(seq 1 50); do
  if as_postgres psql -X -q -c 'select 1' >/dev/null 2>&1; then break; fi
  sleep 0.2
done

as_postgres psql -X -q -v ON_ERROR_STOP=1 -c "ALTER ROLE postgres WITH PASSWORD '${password}'" >/dev/null
# A database the examples and `npm start` against PostgreSQL can use; tests create their own.
if ! as_postgres psql -X -tAc "SELECT 1 FROM pg_database WHERE datname = 'orch'" | grep -q 1; then
  as_postgres psql -X -q -c 'CREATE DATABASE orch' >/dev/null
fi
echo "start-postgres: PostgreSQL $version is up on 127.0.0.1:5432 (user postgres)" >&2
