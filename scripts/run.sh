#!/usr/bin/env bash
# Celeriac's main job. For now a smoke run: build, make sure a Redis broker answers (starting a
# private redis-server if none is reachable at CELERIAC_BROKER_URL), and `celeriac ping` it.
# Later releases turn this into the worker demo.
set -euo pipefail
source "$(dirname "$0")/lib/setup.sh"
cd "$celeriac_root"

ensure_swift
ensure_system_packages

say "building celeriac"
swift build --product celeriac
celeriac="$(swift build --show-bin-path)/celeriac"

export CELERIAC_BROKER_URL="${CELERIAC_BROKER_URL:-redis://127.0.0.1:6379/0}"
if ! "$celeriac" ping --timeout 2 >/dev/null 2>&1; then
    # Nothing answers: a private server on a unix socket in a temp dir (no port to collide with).
    dir="$(mktemp -d "${TMPDIR:-/tmp}/celeriac-run-redis-XXXXXX")"
    say "no Redis at $CELERIAC_BROKER_URL; starting a private redis-server in $dir"
    redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 --save '' --appendonly no \
        --dir "$dir" --logfile "$dir/redis.log" --daemonize no &
    redis_pid=$!
    trap 'kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; rm -rf "$dir"' EXIT
    export CELERIAC_BROKER_URL="unix://$dir/redis.sock"
    for _ in $(seq 100); do
        [ -S "$dir/redis.sock" ] && break
        sleep 0.05
    done
fi

"$celeriac" ping
