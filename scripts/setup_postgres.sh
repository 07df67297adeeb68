#!/usr/bin/env bash
# A PostgreSQL cluster of the project's own under target/postgres (never the
# system's): installed from the distribution's packages when missing (as
# root on Debian/Ubuntu), initialised once, started on a free loopback port
# with its socket directory under target/postgres/run, with a role and a
# database `bench` and pg_stat_statements (statement counts per request).
#
#   scripts/setup_postgres.sh                  start it (when not running); prints its URL
#   scripts/setup_postgres.sh --database NAME  also (re)create an empty database NAME; prints its URL
#   scripts/setup_postgres.sh --url            print the URL of the running cluster
#   scripts/setup_postgres.sh --stop           stop it
#
# Run as root, the server runs as the unprivileged `postgres` user (initdb
# and postgres refuse root).
set -euo pipefail
# psql says what fails, not what it skipped.
export PGOPTIONS="-c client_min_messages=warning"

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/target/postgres"
data="$dir/data"
run="$dir/run"
url_file="$dir/url"

pg_bin() {
    local found
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [[ -z "$found" ]] && command -v pg_config >/dev/null; then
        found="$(pg_config --bindir)"
    fi
    echo "$found"
}

as_owner() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

running() {
    [[ -f "$data/postmaster.pid" ]] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

bin="$(pg_bin)"
# One caller at a time: tests start it from several processes at once.
mkdir -p "$dir"
exec 9>"$dir/lock"
flock 9
fresh=""
case "${1:-}" in
    --database)
        fresh="${2:?--database needs a name}"
        if [[ ! "$fresh" =~ ^[a-z_][a-z0-9_]{0,62}$ ]]; then
            echo "error: a database name is lower-case letters, digits and _ (got $fresh)" >&2
            exit 2
        fi ;;
    --stop)
        if [[ -n "$bin" ]] && running; then
            as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
            echo "stopped the cluster in $data"
        fi
        rm -f "$url_file"
        exit 0 ;;
    --url)
        if [[ -n "$bin" ]] && running && [[ -f "$url_file" ]]; then
            cat "$url_file"
            exit 0
        fi
        echo "error: the cluster is not running (scripts/setup_postgres.sh starts it)" >&2
        exit 1 ;;
    "") ;;
    *) echo "usage: $0 [--url|--stop]" >&2; exit 2 ;;
esac

if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "==> installing PostgreSQL from the distribution's packages" >&2
        # The package's own cluster is not used: none is created, and no
        # service started.
        mkdir -p /etc/postgresql-common
        [[ -e /etc/postgresql-common/createcluster.conf ]] ||
            echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
        policy=""
        if [[ ! -e /usr/sbin/policy-rc.d ]]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod +x /usr/sbin/policy-rc.d
            policy=1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq -o Dpkg::Options::=--force-confold postgresql >/dev/null
        [[ -z "$policy" ]] || rm -f /usr/sbin/policy-rc.d
        bin="$(pg_bin)"
    else
        echo "error: PostgreSQL is not installed: install your distribution's postgresql package (e.g. apt-get install postgresql), then run this again" >&2
        exit 2
    fi
fi

# The URL of a fresh database NAME on the running cluster, else the
# cluster's own.
finish() {
    local url
    url="$(cat "$url_file")"
    if [[ -n "$fresh" ]]; then
        local port="${url##*:}"
        port="${port%%/*}"
        local psql=("$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U bench -v ON_ERROR_STOP=1)
        "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS $fresh WITH (FORCE)" -c "CREATE DATABASE $fresh"
        "${psql[@]}" -d "$fresh" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
        url="${url%/*}/$fresh"
    fi
    echo "$url"
}

if running && [[ -f "$url_file" ]]; then
    finish
    exit 0
fi

mkdir -p "$dir" "$run"
if [[ $EUID -eq 0 ]]; then
    chown postgres: "$dir" "$run"
    # The server runs as `postgres`: it must be able to pass through every
    # directory above its own (a checkout under /root is not, by default).
    up="$dir"
    while [[ "$up" != "/" ]]; do
        up="$(dirname "$up")"
        if ! runuser -u postgres -- test -x "$up"; then
            chmod o+x "$up"
            echo "note: gave others search permission (o+x, not read) on $up so that the postgres user reaches $dir" >&2
        fi
    done
fi
if [[ ! -f "$data/PG_VERSION" ]]; then
    as_owner "$bin/initdb" -D "$data" -U bench --auth=trust -E UTF8 --locale=C >"$dir/initdb.log"
fi

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# TechEmpower's settings where they matter here; no durability promise
# beyond a crash of the framework's server (synchronous_commit off).
as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start 9>&- -o "\
 -c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$run\
 -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all\
 -c max_connections=200 -c shared_buffers=256MB -c synchronous_commit=off" >/dev/null
psql=("$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U bench -v ON_ERROR_STOP=1)
if [[ -z "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'bench'")" ]]; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE bench"
fi
"${psql[@]}" -d bench -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
echo "postgres://bench@127.0.0.1:$port/bench" > "$url_file"
finish
