#!/usr/bin/env bash
# Runs Celeriac's whole test suite. On a fresh Debian machine it first installs what is missing
# (as root; otherwise it says what to install) and makes the Python venv for the interop checks.
#
#   scripts/test.sh            format check, unit + integration tests, then the suite under AddressSanitizer
#   CELERIAC_ASAN=0 scripts/test.sh    skip the AddressSanitizer pass
#   CELERIAC_FUZZ=0 scripts/test.sh    skip the bounded fuzzing run (scripts/fuzz.sh, 60 s a target)
#
# The tests start their own redis-server processes on free loopback ports; none is needed before.
set -euo pipefail
source "$(dirname "$0")/lib/setup.sh"
cd "$celeriac_root"

ensure_swift
ensure_system_packages
ensure_python_venv
trap stop_stray_test_servers EXIT

# Formatting and the style rules of .swift-format, on the library and executables (seconds).
if swift format --version >/dev/null 2>&1; then
    say "checking the format of Sources/ (swift format lint --strict)"
    swift format lint --strict --recursive Sources
else
    say "swift format is not in this toolchain: format check skipped"
fi

say "building (debug)"
swift build --build-tests
say "running the tests"
swift test --skip-build --disable-xctest --skip ChordRaceTests --skip JobIntegrationTests --skip DemoCommandTests
# Load tests run alone: they saturate the machine and would starve the timing of other tests
# (the job suites run two worker processes over 200,000 items).
say "running the load tests alone"
swift test --skip-build --disable-xctest --filter ChordRaceTests
swift test --skip-build --disable-xctest --filter "JobIntegrationTests|DemoCommandTests"

if [ "${CELERIAC_ASAN:-1}" != 0 ]; then
    say "building and running the tests under AddressSanitizer (.build-asan)"
    swift build --build-tests --sanitize=address --scratch-path .build-asan
    # One test at a time: ASan makes everything several times slower, and on a small machine the
    # tests' own timing (timeouts, pauses) would otherwise compete with each other's load.
    # The job integration tests' workers process 20,000 items there instead of 200,000.
    # Foundation's own Process leaks are suppressed (see the file).
    CELERIAC_JOB_TEST_ITEMS=20000 LSAN_OPTIONS="suppressions=$celeriac_root/scripts/lsan-suppressions.txt" \
        swift test --skip-build --disable-xctest --no-parallel --sanitize=address --scratch-path .build-asan
fi

if [ "${CELERIAC_FUZZ:-1}" != 0 ]; then
    say "fuzzing the message decoder and the RESP reader from the checked-in corpus (bounded)"
    # A fixed seed: a CI run explores what the same run explored on a developer's machine (as far
    # as its speed reaches in the time), so a new find there is a new find here, not chance.
    CELERIAC_FUZZ_SECONDS="${CELERIAC_FUZZ_SECONDS:-60}" CELERIAC_FUZZ_SEED="${CELERIAC_FUZZ_SEED:-1}" scripts/fuzz.sh
fi
