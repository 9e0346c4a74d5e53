#!/usr/bin/env bash
# Two (or more) rulebook executables and cmark-gfm, alternated run by run on one corpus, OUT in RAM:
# the machine's speed drifts within minutes, so a before/after comparison is only fair when the runs
# take turns. Prints each command's times (sorted) and median, and each executable's CPU time.
#
#   Scripts/compare.sh [--reps N] [--corpus DIR] BIN [BIN...]
#
# Defaults: 7 repetitions, the 10,000-document corpus of Scripts/benchmark.sh (.build-bench/corpus-10000).
# Each rulebook run is a first run: empty output folder (in /dev/shm), no build stamp.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=7
corpus=.build-bench/corpus-10000
while [[ $# -gt 0 ]]; do
    case "$1" in
        --reps) reps=$2; shift 2 ;;
        --corpus) corpus=$2; shift 2 ;;
        *) break ;;
    esac
done
[[ $# -ge 1 ]] || { sed -n '2,9p' "$0" >&2; exit 2; }
[[ -d "$corpus" ]] || { echo "compare: no corpus at $corpus (run Scripts/benchmark.sh first, or pass --corpus)" >&2; exit 2; }
command -v cmark-gfm >/dev/null || { echo "compare: cmark-gfm is not installed (apt-get install cmark-gfm)" >&2; exit 2; }
ram=$(mktemp -d /dev/shm/rulebook-compare.XXXXXX)
trap 'rm -rf "$ram"' EXIT
export RULEBOOK_CACHE_DIR="$ram/cache"
bytes() { (cd "$corpus" && find . -type f \( -name '*.md' -o -name '*.txt' \) -print0 | sort -z | xargs -0 cat); }
declare -A wall cpu
for ((r = 1; r <= reps; r++)); do
    for bin in "$@" cmark-gfm; do
        if [[ "$bin" == cmark-gfm ]]; then
            t0=$(date +%s%N); bytes | cmark-gfm -e table >/dev/null; t1=$(date +%s%N)
            wall[$bin]+=" $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
        else
            rm -rf "$ram/out" "$RULEBOOK_CACHE_DIR"
            line=$( { /usr/bin/time -f '%e %U %S' "$bin" generate --input "$corpus" --output "$ram/out" --quiet >/dev/null; } 2>&1 | tail -n 1)
            read -r e u s <<<"$line"
            wall[$bin]+=" $e"; cpu[$bin]+=" $(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')"
        fi
    done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for bin in "$@" cmark-gfm; do
    printf '%s: wall %s; median %s' "$bin" "$(echo "${wall[$bin]}" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')" "$(echo "${wall[$bin]}" | median)"
    [[ "$bin" != cmark-gfm ]] && printf '; CPU median %s s' "$(echo "${cpu[$bin]}" | median)"
    printf '\n'
done
