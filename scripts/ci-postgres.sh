#!/usr/bin/env bash
# ci-postgres.sh: make a PostgreSQL server answer on 127.0.0.1:5432 for the
# findings store's tests, and print its DSN on stdout (nothing else goes to
# stdout). Meant for a Debian machine, run as root, without systemd:
#
#   export DPSWEEP_TEST_POSTGRES="$(scripts/ci-postgres.sh)"
#
# It installs Debian's postgresql package when no server is installed, starts
# the first cluster (creating one if there is none) listening on 127.0.0.1
# only, lets role dpsweep in from 127.0.0.1 without a password, and creates
# database dpsweep_test owned by it. Running it again is quick and changes
# nothing. When it cannot do any of this it prints a warning on stderr and
# exits 0 with nothing on stdout: the PostgreSQL tests then skip.
set -uo pipefail

readonly PORT=5432 ROLE=dpsweep DB=dpsweep_test
readonly DSN="postgres://${ROLE}@127.0.0.1:${PORT}/${DB}?sslmode=disable"

warn() { echo "ci-postgres: warning: $*; the PostgreSQL tests will skip" >&2; exit 0; }
log() { echo "ci-postgres: $*" >&2; }

# as_postgres runs psql as the postgres superuser over the local socket.
as_postgres() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"; }

ready() { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p "$PORT" -t 1; }

# Fast path: the server answers and the role can reach its database.
if ready && psql -X -q -tAc 'select 1' "$DSN" >/dev/null 2>&1; then
  echo "$DSN"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || warn "not root, cannot install or start PostgreSQL"

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  command -v apt-get >/dev/null || warn "no apt-get to install PostgreSQL with"
  log "installing postgresql from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q postgresql >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q postgresql >/dev/null 2>&1; } ||
    warn "apt-get install postgresql failed"
fi
command -v pg_lsclusters >/dev/null || warn "postgresql-common (pg_lsclusters) is missing"

# The newest installed version's first cluster, or a new one.
version=$(ls -1 /usr/lib/postgresql | sort -n | tail -1)
cluster=$(pg_lsclusters -h 2>/dev/null | awk -v v="$version" '$1 == v { print $2; exit }')
if [ -z "$cluster" ]; then
  cluster=main
  log "creating cluster $version/$cluster"
  pg_createcluster "$version" "$cluster" >/dev/null 2>&1 || warn "pg_createcluster $version $cluster failed"
fi

# Listen on loopback only, on the port the tests expect; let the test role in
# from 127.0.0.1 without a password (first matching pg_hba line wins).
conf="/etc/postgresql/$version/$cluster"
changed=0
# A drop-in read after postgresql.conf (Debian's includes conf.d last).
dropin="$conf/conf.d/dpsweep-ci.conf"
want="listen_addresses = '127.0.0.1'
port = $PORT"
if [ "$(cat "$dropin" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$conf/conf.d" && echo "$want" >"$dropin" || warn "cannot write $dropin"
  changed=1
fi
hba_line="host    all    ${ROLE}    127.0.0.1/32    trust"
if ! grep -qxF "$hba_line" "$conf/pg_hba.conf"; then
  { echo "$hba_line"; cat "$conf/pg_hba.conf"; } >"$conf/pg_hba.conf.new" &&
    chown --reference="$conf/pg_hba.conf" "$conf/pg_hba.conf.new" &&
    chmod --reference="$conf/pg_hba.conf" "$conf/pg_hba.conf.new" &&
    mv "$conf/pg_hba.conf.new" "$conf/pg_hba.conf" || warn "cannot edit $conf/pg_hba.conf"
  changed=1
fi

status=$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { print $4 }')
if [ "$status" != online ]; then
  log "starting cluster $version/$cluster"
  pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start >/dev/null 2>&1 ||
    warn "pg_ctlcluster $version $cluster start failed (see /var/log/postgresql/postgresql-$version-$cluster.log)"
elif [ "$changed" -eq 1 ]; then
  # A running cluster keeps its listen address and port until restarted.
  log "restarting cluster $version/$cluster"
  pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" restart >/dev/null 2>&1 ||
    warn "pg_ctlcluster $version $cluster restart failed"
fi

for _ in $(seq 1 60); do
  ready && break
  sleep 0.5
done
ready || warn "the server does not answer on 127.0.0.1:$PORT"

as_postgres -tAc "select 1 from pg_roles where rolname = '$ROLE'" | grep -q 1 ||
  as_postgres -c "create role $ROLE login" || warn "cannot create role $ROLE"
as_postgres -tAc "select 1 from pg_database where datname = '$DB'" | grep -q 1 ||
  as_postgres -c "create database $DB owner $ROLE" || warn "cannot create database $DB"

psql -X -q -tAc 'select 1' "$DSN" >/dev/null 2>&1 || warn "role $ROLE cannot connect to $DB"
echo "$DSN"
