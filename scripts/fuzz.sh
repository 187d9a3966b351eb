#!/usr/bin/env bash
# Fuzzes the message decoder and the RESP reader with libFuzzer (Fuzz/CeleriacFuzz), starting from
# the checked-in corpus (Fuzz/Corpus/message, Fuzz/Corpus/resp).
#
#   scripts/fuzz.sh               each target for CELERIAC_FUZZ_SECONDS (default 60) seconds
#   scripts/fuzz.sh resp          one target
#   CELERIAC_FUZZ_KEEP=1 scripts/fuzz.sh   also merges new inputs into the checked-in corpus
#   CELERIAC_FUZZ_SEED=N scripts/fuzz.sh   libFuzzer's -seed (scripts/test.sh passes 1, so that
#                                          CI repeats the run a developer made; default random)
#
# A crash, a sanitizer report, a leak, an input slower than 10 s or one using more than 2 GB fails
# the run; libFuzzer leaves the input as .build-fuzz/crash-* (replay it with
# `.build/debug/celeriac-fuzz TARGET FILE`). Builds with -sanitize=fuzzer,address in .build-fuzz.
set -euo pipefail
source "$(dirname "$0")/lib/setup.sh"
cd "$celeriac_root"

seconds="${CELERIAC_FUZZ_SECONDS:-60}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(message resp)

say "building the fuzz targets (release, -sanitize=fuzzer,address, .build-fuzz)"
swift build -c release --product celeriac-fuzz --scratch-path .build-fuzz \
    --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address -Xswiftc -DCELERIAC_FUZZING
fuzzer="$(swift build -c release --scratch-path .build-fuzz --show-bin-path)/celeriac-fuzz"

for target in "${targets[@]}"; do
    say "fuzzing '$target' for ${seconds}s"
    # New inputs go to a scratch directory; the checked-in corpus is only read.
    found=".build-fuzz/found-$target"
    rm -rf "$found" && mkdir -p "$found"
    seed=()
    [ -n "${CELERIAC_FUZZ_SEED:-}" ] && seed=(-seed="$CELERIAC_FUZZ_SEED")
    (cd .build-fuzz && CELERIAC_FUZZ_TARGET="$target" "$fuzzer" "${seed[@]}" \
        -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -dict="$celeriac_root/Fuzz/$target.dict" "found-$target" "$celeriac_root/Fuzz/Corpus/$target")
    if [ "${CELERIAC_FUZZ_KEEP:-0}" = 1 ]; then
        say "merging what '$target' found into Fuzz/Corpus/$target"
        CELERIAC_FUZZ_TARGET="$target" "$fuzzer" -merge=1 -max_len=16384 "Fuzz/Corpus/$target" "$found"
    fi
done
