#!/usr/bin/env bash
# Builds librdkafka's own benchmark client, rdkafka_performance, from the example source Debian's
# librdkafka-dev ships, into build/bench/. The example includes a few librdkafka-internal headers;
# small stand-ins for the helpers it uses are generated here. Prints the binary's path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
src=/usr/share/doc/librdkafka-dev/examples/rdkafka_performance.c
out="$root/build/bench"
bin="$out/rdkafka_performance"
if [[ ! -f "$src" ]]; then
    echo "missing $src: install librdkafka-dev (scripts/install-deps.sh --test)" >&2
    exit 1
fi
if [[ -x "$bin" && "$bin" -nt "$src" && "$bin" -nt "${BASH_SOURCE[0]}" ]]; then
    echo "$bin"
    exit 0
fi
mkdir -p "$out/shim"
cat >"$out/shim/rd.h" <<'H'
/* Stand-ins for the librdkafka-internal helpers rdkafka_performance.c uses. */
#pragma once
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
typedef int64_t rd_ts_t;
static inline rd_ts_t rd_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (rd_ts_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
#define rd_snprintf snprintf
#define RD_MAX(a, b) ((a) > (b) ? (a) : (b))
#define RD_MIN(a, b) ((a) < (b) ? (a) : (b))
H
echo '#include "rd.h"' >"$out/shim/rdtime.h"
# The example includes "../src/rd.h": give it a src/ next to the copied source.
mkdir -p "$out/shim/src"
cp "$out/shim/rd.h" "$out/shim/src/rd.h"
cp "$src" "$out/shim/src/perf.c"
cc -O2 -w -I"$out/shim" -I"$out/shim/src" -I/usr/include/librdkafka -o "$bin" "$out/shim/src/perf.c" -lrdkafka -lpthread -lm
echo "$bin"
