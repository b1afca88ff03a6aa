#!/usr/bin/env bash
# make test: a throwaway PostgreSQL cluster under var/test, then every
# suite in turn: C units (cmocka), plugin conformance (golden cases),
# the fake providers' own tests, the black-box API tests and the browser
# tests (pytest, each starting a real kore). Exits non-zero if any failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export VAR_DIR=$root/var/test
if [ -d "$VAR_DIR/pg/data" ]; then
	conf/pgcluster.sh stop "$VAR_DIR/pg"
fi
rm -rf "$VAR_DIR"
export PG_PORT=${TEST_PG_PORT:-54339}
unset DATABASE_URL MIGRATE_DATABASE_URL MASTER_KEY MASTER_KEY_FILE
set -e
. conf/env.sh
set +e
trap 'conf/pgcluster.sh stop "$VAR_DIR/pg"' EXIT

PY=/usr/bin/python3
failed=()
suite() {
	local name=$1; shift
	echo
	echo "=== $name"
	if "$@"; then echo "=== $name: ok"; else failed+=("$name"); fi
}

suite "C unit tests" make --no-print-directory test-unit
if [ -x app/inbox-plugin-check ]; then
	for dir in plugins/*/golden; do
		[ -d "$dir" ] || continue
		name=$(basename "$(dirname "$dir")")
		suite "conformance: $name" app/inbox-plugin-check \
		    "plugins/$name.so" "$dir"
	done
fi
suite "fuzzing (short runs)" make --no-print-directory fuzz-smoke
[ -d tests/fakes ] && suite "fake providers" $PY -m pytest -q tests/fakes
suite "API" $PY -m pytest -q tests/api
if ls tests/ui/test_*.py >/dev/null 2>&1; then
	suite "browser" $PY -m pytest -q tests/ui
fi

echo
if [ ${#failed[@]} -gt 0 ]; then
	echo "FAILED suites: ${failed[*]}"
	exit 1
fi
echo "all suites passed"
