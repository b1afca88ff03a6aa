#!/usr/bin/env bash
# make bench: the webhook ingestion benchmark (tests/bench/bench_webhooks.py,
# docs/performance.md), then the outbound one (tests/bench/bench_outbound.py,
# docs/dispatcher.md), on a throwaway PostgreSQL cluster of its own under
# var/bench (port BENCH_PG_PORT, 54349 by default), set up exactly as
# `make test` sets up var/test (conf/env.sh: master key, cluster, roles,
# migrations). conf/pgcluster.sh creates clusters with fsync = on and
# synchronous_commit = on; the benchmark checks both before it starts.
#   BENCH_SOAK   soak length in seconds (300; 0 skips it)
#   BENCH_ARGS   more options for bench_webhooks.py (see its --help)
#   BENCH_OUTBOUND_ARGS  the same for bench_outbound.py
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

export VAR_DIR=$root/var/bench
if [ -d "$VAR_DIR/pg/data" ]; then
	conf/pgcluster.sh stop "$VAR_DIR/pg"
fi
rm -rf "$VAR_DIR"
export PG_PORT=${BENCH_PG_PORT:-54349}
unset DATABASE_URL MIGRATE_DATABASE_URL MASTER_KEY MASTER_KEY_FILE
# Set before the cluster starts, so a failure setting it up stops it too.
trap '[ -d "$VAR_DIR/pg/data" ] && conf/pgcluster.sh stop "$VAR_DIR/pg"' EXIT
set -e
. conf/env.sh
# The server settings docs/deploy.md recommends for production (step 2):
# with the 256 MB of a development cluster, backends evicted dirty pages
# themselves and WAL-triggered checkpoints came every ~40 s, which
# tripled p99 (61 ms against 21 ms at 32 connections, same rate). fsync
# and synchronous_commit stay on; (a) and (b) share these settings.
cat >>"$VAR_DIR/pg/data/postgresql.conf" <<EOF
shared_buffers = 2GB
max_wal_size = 8GB
checkpoint_timeout = 30min
wal_compression = lz4
EOF
conf/pgcluster.sh restart "$VAR_DIR/pg"
set +e

rc=0
# shellcheck disable=SC2086
/usr/bin/python3 tests/bench/bench_webhooks.py --soak "${BENCH_SOAK:-300}" \
    ${BENCH_ARGS:-} || rc=1
out=tests/bench/results/outbound-$(date -u +%Y%m%d-%H%M).txt
# shellcheck disable=SC2086
/usr/bin/python3 tests/bench/bench_outbound.py ${BENCH_OUTBOUND_ARGS:-} \
    2>&1 | tee "$out"
[ "${PIPESTATUS[0]}" = 0 ] || rc=1
exit $rc
