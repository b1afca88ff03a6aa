#!/usr/bin/env bash
# A local PostgreSQL 15 cluster for development and tests, kept under a
# directory of the project (var/pg for `make run`, a throwaway one for
# `make test`). It listens on a unix socket inside that directory and on
# 127.0.0.1:PORT, and has the two roles the project expects:
#   inbox_owner  owns the schema, runs migrations and operator commands
#                (BYPASSRLS: rotation and replay work across tenants)
#   inbox_app    what the server logs in as: owns nothing, no BYPASSRLS
# As root, the cluster runs as the postgres user (PostgreSQL refuses root).
#
#   pgcluster.sh start DIR PORT    create on first use, start, create roles
#   pgcluster.sh stop DIR
#   pgcluster.sh restart DIR
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
cmd=${1:?usage: pgcluster.sh start|stop|restart DIR [PORT]}
dir=$(realpath -m "${2:?directory}")
port=${3:-}

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_ctl_do() {
	as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log/postgres.log" \
	    -w -t 60 "$@"
}

case "$cmd" in
start)
	: "${port:?port}"
	mkdir -p "$dir/run" "$dir/log"
	if [ "$(id -u)" = 0 ]; then
		# postgres must reach the directory through every parent.
		p="$dir"
		while [ "$p" != / ]; do chmod o+x "$p" 2>/dev/null || true;
		    p=$(dirname "$p"); done
		chown postgres: "$dir" "$dir/run" "$dir/log"
	fi
	if [ ! -s "$dir/data/PG_VERSION" ]; then
		as_pg "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres \
		    -E UTF8 --locale=C.UTF-8 >"$dir/log/initdb.log"
		cat >>"$dir/data/postgresql.conf" <<-EOF
		listen_addresses = '127.0.0.1'
		port = $port
		unix_socket_directories = '$dir/run'
		max_connections = 200
		shared_buffers = 256MB
		fsync = on
		synchronous_commit = on
		EOF
	fi
	if ! as_pg "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		pg_ctl_do start >/dev/null
	fi
	psql="psql -X -q -v ON_ERROR_STOP=1 -h $dir/run -p $port -U postgres"
	$psql -d postgres <<-'EOF'
	SELECT 'CREATE ROLE inbox_owner LOGIN BYPASSRLS'
	    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'inbox_owner')
	\gexec
	ALTER ROLE inbox_owner BYPASSRLS;
	ALTER ROLE inbox_owner SET TimeZone = 'UTC';
	SELECT 'CREATE ROLE inbox_app LOGIN NOSUPERUSER NOBYPASSRLS'
	    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'inbox_app')
	\gexec
	SELECT 'CREATE DATABASE inbox OWNER inbox_owner'
	    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'inbox')
	\gexec
	EOF
	# The API promises UTC timestamps whatever the server's zone.
	$psql -d postgres -c "ALTER ROLE inbox_app SET TimeZone = 'UTC'"
	$psql -d inbox -c 'REVOKE CREATE ON SCHEMA public FROM PUBLIC'
	;;
stop)
	if [ -s "$dir/data/PG_VERSION" ]; then
		pg_ctl_do stop -m fast >/dev/null 2>&1 || true
	fi
	;;
restart)
	pg_ctl_do restart -m fast >/dev/null
	;;
*)
	echo "usage: pgcluster.sh start|stop|restart DIR [PORT]" >&2
	exit 2
	;;
esac
