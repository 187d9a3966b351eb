#!/usr/bin/env bash
# Celeriac's main job, as a demo: build (release: the demo's figures are throughput figures), then
# `celeriac demo`: it finds a Redis at CELERIAC_BROKER_URL or starts a private redis-server, starts
# two celeriac-worker processes, generates 1,000,000 items, runs a validation and an analysis job
# over them with live progress bars, prints both results and a statistics table, and stops what
# it started. Ctrl-C cancels the jobs and cleans up. Extra arguments go to `celeriac demo`
# (e.g. scripts/run.sh --items 200000).
set -euo pipefail
source "$(dirname "$0")/lib/setup.sh"
cd "$celeriac_root"

ensure_swift
ensure_system_packages

say "building celeriac and celeriac-worker (release; the first build takes a few minutes)"
swift build -c release --product celeriac
swift build -c release --product celeriac-worker
bin="$(swift build -c release --show-bin-path)"

say "celeriac demo $*"
exec "$bin/celeriac" demo "$@"
