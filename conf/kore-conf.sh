#!/usr/bin/env bash
# Writes the kore configuration for this checkout to stdout, from
# conf/kore.conf.in and the environment: PORT (8888), BIND (127.0.0.1),
# WORKERS (the number of CPUs), RUN_DIR (var/run: pid file, spooled
# bodies), SECCOMP_TRACING (no).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
run=${RUN_DIR:-$root/var/run}
mkdir -p "$run"
sed -e "s#@ROOT@#$root#g" -e "s#@RUN@#$run#g" \
    -e "s#@PORT@#${PORT:-8888}#g" -e "s#@BIND@#${BIND:-127.0.0.1}#g" \
    -e "s#@WORKERS@#${WORKERS:-$(nproc)}#g" \
    -e "s#@SECCOMP_TRACING@#${SECCOMP_TRACING:-no}#g" \
    "$root/conf/kore.conf.in"
