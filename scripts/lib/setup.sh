# Shared by scripts/*.sh: finds Swift, installs the Debian packages Celeriac needs, makes the Python
# venv used by the interop checks. Sourced, not run. Everything is idempotent: a second run only checks.

celeriac_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Swift 6: on PATH, else the toolchain at /opt/swift.
ensure_swift() {
    if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    fi
    command -v swift >/dev/null 2>&1 || die "Swift 6 is not installed: get a toolchain from swift.org and put it on PATH"
}

# Debian packages: hiredis headers and library, redis-server (which brings redis-tools with
# redis-cli and redis-benchmark), pkg-config, and venv support for python3.
ensure_system_packages() {
    local missing=()
    [ -f /usr/include/hiredis/hiredis.h ] || missing+=(libhiredis-dev)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    command -v redis-benchmark >/dev/null 2>&1 || missing+=(redis-tools)
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        missing+=(python3-venv)
    fi
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        die "missing Debian packages; install them with: sudo apt-get install -y ${missing[*]}"
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
    # The package may start a system redis-server on 6379; Celeriac's tests use their own ports.
}

# A venv in .venv with Celery (interop tests) and PyYAML (compose file check); CELERIAC_PYTHON
# names its interpreter for the tests.
ensure_python_venv() {
    local venv="$celeriac_root/.venv"
    local wanted="celery[redis]==5.7.0 flower==2.2.0 pyyaml"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.celeriac-requirements" 2>/dev/null)" != "$wanted" ]; then
        say "making the Python venv in .venv ($wanted)"
        rm -rf "$venv"
        python3 -m venv "$venv" || die "python3 -m venv failed: apt-get install -y python3-venv"
        # shellcheck disable=SC2086
        "$venv/bin/pip" install --quiet --disable-pip-version-check $wanted \
            || die "pip could not install $wanted (is PyPI reachable?)"
        echo "$wanted" > "$venv/.celeriac-requirements"
    fi
    export CELERIAC_PYTHON="$venv/bin/python"
}

# Stops redis-servers that the test helper started and a crashed run left behind, by the pid in
# each test server's own pid file (celeriac-test-redis-*/redis.pid): only an orphan (parent gone,
# so pid 1 adopted it) working in that directory (redis-server's --dir), so that neither a reused pid nor a
# server of a test run still going on elsewhere on this machine is touched.
stop_stray_test_servers() {
    local pidfile pid
    for pidfile in "${TMPDIR:-/tmp}"/celeriac-test-redis-*/redis.pid; do
        [ -f "$pidfile" ] || continue
        pid="$(tr -cd '0-9' < "$pidfile")"
        [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || continue
        [ "$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null)" = 1 ] || continue
        [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$(dirname "$pidfile")" ] || continue
        kill -KILL "$pid" 2>/dev/null || true
    done
    find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'celeriac-test-redis-*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
}
