# Sourced by conf/run.sh and tests/run.sh: prepares a local environment
# under $VAR_DIR and exports the configuration the server reads.
#   - a development master key (mode 0600) on first use
#   - unless DATABASE_URL is set: a PostgreSQL cluster under
#     $VAR_DIR/pg on $PG_PORT, with the inbox_owner and inbox_app roles
#   - migrations applied
# Every variable is documented in docs/configuration.md.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR_DIR=${VAR_DIR:-$ROOT/var}
PORT=${PORT:-8888}
mkdir -p "$VAR_DIR"

if [ -z "${MASTER_KEY_FILE:-}" ] && [ -z "${MASTER_KEY:-}" ]; then
	MASTER_KEY_FILE=$VAR_DIR/master.key
	if [ ! -s "$MASTER_KEY_FILE" ]; then
		(umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' \
		    >"$MASTER_KEY_FILE")
		echo "generated a development master key in $MASTER_KEY_FILE"
	fi
	export MASTER_KEY_FILE
fi

STARTED_PG=
if [ -z "${DATABASE_URL:-}" ]; then
	PG_PORT=${PG_PORT:-54329}
	"$ROOT/conf/pgcluster.sh" start "$VAR_DIR/pg" "$PG_PORT"
	STARTED_PG=$VAR_DIR/pg
	PG_SOCK=$VAR_DIR/pg/run
	export DATABASE_URL="host=$PG_SOCK port=$PG_PORT dbname=inbox user=inbox_app connect_timeout=3 application_name=inbox"
	export MIGRATE_DATABASE_URL="host=$PG_SOCK port=$PG_PORT dbname=inbox user=inbox_owner"
	export ADMIN_DATABASE_URL="host=$PG_SOCK port=$PG_PORT dbname=inbox user=postgres"
fi
"$ROOT/app/inboxctl" migrate "$ROOT/migrations"

export PUBLIC_URL=${PUBLIC_URL:-http://127.0.0.1:$PORT}
export META_VERIFY_TOKEN=${META_VERIFY_TOKEN:-dev-verify-token}
export META_APP_SECRET=${META_APP_SECRET:-dev-app-secret}
export PLUGIN_DIR=${PLUGIN_DIR:-$ROOT/plugins}
