#!/bin/sh
# Builds the fuzz targets and runs each for SECONDS (default 600), two at a time, on the stable
# toolchain (no sanitizer: the code under test is safe Rust, the checks are its assertions).
# Logs go to fuzz/logs/<target>.log; crashes to fuzz/artifacts/<target>/.
set -eu
cd "$(dirname "$0")"
SECONDS_PER_TARGET="${1:-600}"
mkdir -p logs
cargo fuzz build -s none
run() {
    mkdir -p "corpus/$1"
    seeds=""
    [ -d "seeds/$1" ] && seeds="seeds/$1"
    # shellcheck disable=SC2086
    cargo fuzz run -s none "$1" "corpus/$1" $seeds -- \
        -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 -rss_limit_mb=2048 \
        >"logs/$1.log" 2>&1 && echo "$1: ok" || echo "$1: FAILED (see logs/$1.log)"
}
run proxy_list & run envelope & wait
run ratelimit_headers & run downlevel & wait
