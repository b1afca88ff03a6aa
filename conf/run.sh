#!/usr/bin/env bash
# make run: a local environment (conf/env.sh), then kore in the
# foreground and the outbound dispatcher (app/inbox-dispatcher) beside
# it, until Ctrl-C, which stops everything this script started.
set -euo pipefail
. "$(dirname "$0")/env.sh"

kore_pid=
disp_pid=
cleanup() {
	trap - INT TERM EXIT
	# The dispatcher finishes the sends in flight before it exits.
	[ -n "$disp_pid" ] && kill "$disp_pid" 2>/dev/null && wait "$disp_pid"
	[ -n "$kore_pid" ] && kill "$kore_pid" 2>/dev/null && wait "$kore_pid"
	[ -n "$STARTED_PG" ] && "$ROOT/conf/pgcluster.sh" stop "$STARTED_PG"
	echo "stopped"
}
trap cleanup INT TERM EXIT

RUN_DIR=$VAR_DIR/run PORT=$PORT "$ROOT/conf/kore-conf.sh" >"$VAR_DIR/kore.conf"
cd "$ROOT"
stdbuf -oL kore -c "$VAR_DIR/kore.conf" -f -n -r &
kore_pid=$!
for _ in $(seq 50); do
	kill -0 "$kore_pid" 2>/dev/null || { echo "kore did not start"; exit 1; }
	curl -fsS "http://127.0.0.1:$PORT/api/v1/health" >/dev/null 2>&1 && break
	sleep 0.2
done
# Sends what the API queues; any number may run against one database.
app/inbox-dispatcher &
disp_pid=$!
echo
echo "Team inbox is running: $PUBLIC_URL   (Ctrl-C stops it)"
echo
wait "$kore_pid"
