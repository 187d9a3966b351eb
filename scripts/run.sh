#!/usr/bin/env bash
# Celeriac's main job, as a demo: build, make sure a Redis broker answers (starting a private
# redis-server if none is reachable at CELERIAC_BROKER_URL), start a Celeriac worker, send it a few
# tasks with `celeriac call --wait` and a chord with `celeriac apply --progress`, and stop the
# worker with SIGTERM (a warm shutdown).
set -euo pipefail
source "$(dirname "$0")/lib/setup.sh"
cd "$celeriac_root"

ensure_swift
ensure_system_packages

say "building celeriac and celeriac-worker"
swift build --product celeriac
swift build --product celeriac-worker
bin="$(swift build --show-bin-path)"
celeriac="$bin/celeriac"

worker_pid=""
redis_pid=""
redis_dir=""
cleanup() {
    if [ -n "$worker_pid" ]; then kill "$worker_pid" 2>/dev/null || true; fi
    if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    if [ -n "$redis_dir" ]; then rm -rf "$redis_dir"; fi
}
trap cleanup EXIT

export CELERIAC_BROKER_URL="${CELERIAC_BROKER_URL:-redis://127.0.0.1:6379/0}"
if ! "$celeriac" ping --timeout 2 >/dev/null 2>&1; then
    # Nothing answers: a private server on a unix socket in a temp dir (no port to collide with).
    redis_dir="$(mktemp -d "${TMPDIR:-/tmp}/celeriac-run-redis-XXXXXX")"
    say "no Redis at $CELERIAC_BROKER_URL; starting a private redis-server in $redis_dir"
    redis-server --port 0 --unixsocket "$redis_dir/redis.sock" --unixsocketperm 700 --save '' --appendonly no \
        --dir "$redis_dir" --logfile "$redis_dir/redis.log" --daemonize no &
    redis_pid=$!
    export CELERIAC_BROKER_URL="unix://$redis_dir/redis.sock"
    for _ in $(seq 100); do
        [ -S "$redis_dir/redis.sock" ] && break
        sleep 0.05
    done
fi

"$celeriac" ping

say "starting celeriac-worker (its log lines go to stderr)"
"$bin/celeriac-worker" -c 2 -n demo@%h &
worker_pid=$!

say "celeriac call celeriac.examples.add --args '[2, 3]' --wait"
"$celeriac" call celeriac.examples.add --args '[2, 3]' --wait --timeout 30
say "celeriac call celeriac.examples.progress --args '[3]' --wait"
"$celeriac" call celeriac.examples.progress --args '[3]' --wait --timeout 30
say "celeriac call celeriac.examples.fail --args '[\"boom\"]' --wait (fails on purpose)"
"$celeriac" call celeriac.examples.fail --args '["boom"]' --wait --timeout 30 || true
chord='{"task": "celery.chord", "subtask_type": "chord", "kwargs": {"header": ['
for i in 1 2 3 4 5 6 7 8; do
    chord+="{\"task\": \"celeriac.examples.sleep\", \"args\": [0.$i]},"
done
chord="${chord%,}], \"body\": {\"task\": \"celeriac.examples.xsum\"}}}"
say "celeriac apply <chord of 8 sleeps + xsum> --wait --progress"
"$celeriac" apply "$chord" --wait --progress --timeout 60

say "stopping the worker with SIGTERM (warm shutdown)"
kill -TERM "$worker_pid"
wait "$worker_pid"
worker_pid=""
say "done"
