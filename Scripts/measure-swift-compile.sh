#!/usr/bin/env bash
# Measures the generated Swift: debug compile time and memory for 100 / 1,000 / 10,000 codes, and the
# one-time load of the rules at run time (RuleBook.generated, release build).
#
#   Scripts/measure-swift-compile.sh [COUNT...]      (default: 100 1000 10000)
#   RULEBOOK_MEASURE_SHARDS=N Scripts/measure-swift-compile.sh ...   (N data files instead of the default count)
#
# Records are the seed documents' records (compiled by the real pipeline) repeated under new codes and
# paths, about 7 KB of JSON each; RULEBOOK_MEASURE_RECORDS=synthetic uses smaller synthetic records. The
# test EmitterMeasurementTests writes the Swift that SwiftEmitter emits for them: RulebookRules.swift and
# one data file per shard (EmbeddedShards.shardCount: 100 codes → 2 shards, 1,000 → 16, 10,000 → 64). The
# machine's load (uptime) is printed: on a shared machine wall times exceed CPU times. Each output is
# compiled as a debug `swift build` compiles a target (swiftc -Onone -g, batch mode, one job per core,
# Swift 6 mode, warnings as errors) against the Rulebook module only; then the main file alone and the
# largest shard alone (what an incremental build recompiles after one record changed) as primary files.
set -euo pipefail
cd "$(dirname "$0")/.."

counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(100 1000 10000)
work=$(mktemp -d "${TMPDIR:-/tmp}/rulebook-measure.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "building Rulebook (debug and release) and the emitter tests..." >&2
swift build --target Rulebook >/dev/null
swift build -c release --target Rulebook >/dev/null
swift build --build-tests >/dev/null
RULEBOOK_MEASURE_OUT="$work/gen" RULEBOOK_MEASURE_COUNTS=$(IFS=,; echo "${counts[*]}") \
    swift test --skip-build --filter EmitterMeasurementTests >/dev/null

modules() {  # the folder holding Rulebook.swiftmodule for a configuration's bin path
    if [ -d "$1/Modules" ]; then echo "$1/Modules"; else echo "$1"; fi
}
debug_bin=$(swift build --show-bin-path)
release_bin=$(swift build -c release --show-bin-path)
debug_modules=$(modules "$debug_bin")
release_modules=$(modules "$release_bin")

timed() {  # timed OUTFILE command... : runs the command, writes "wall-seconds cpu-seconds maxKiB" to OUTFILE
    local out=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$out.raw" "$@"
    awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$out.raw" > "$out"
}

cat > "$work/main.swift" <<'EOF'
import Foundation
import Rulebook
func cpuMilliseconds() -> Double {  // all threads of the process
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1000 + Double(time.tv_nsec) / 1e6
}
func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
let clock = ContinuousClock()
let cpu0 = cpuMilliseconds()
let t0 = clock.now
let book = RuleBook.generated                     // reads the index
let t1 = clock.now
let keys = GeneratedCodes.store.keys
let looked = keys[keys.count / 2]
guard let found = book.code(looked.system, looked.code) else { fatalError("lookup failed") }  // first lookup
let t2 = clock.now
let checked = keys[keys.count / 3]
let findings = book.evaluate(ClaimLine(system: checked.system, code: checked.code, modifiers: ["50", "LT"], payer: "aetna"))
let t3 = clock.now
let cpuFirst = cpuMilliseconds() - cpu0
let cpu4 = cpuMilliseconds()
let all = book.codes                              // decodes everything
let t5 = clock.now
let cpuAll = cpuMilliseconds() - cpu4
guard all.contains(found), !findings.isEmpty else { fatalError("inconsistent") }
print(all.count, String(format: "%.2f+%.2f+%.2f=%.2f/%.2f %.0f/%.0f", ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t3 - t0), cpuFirst, ms(t5 - t3), cpuAll))
EOF

jobs=$(nproc)
echo "debug compile: wall / CPU (user+sys) seconds, every file (batch mode, -j $jobs);"
echo "main/shard: the main file alone, the largest shard alone, as primary file (CPU seconds)"
echo "first: RuleBook.generated + first code() + first evaluate() in a fresh process, wall ms each = total wall/CPU (runtime -O);"
echo "all: then book.codes (decodes every record), wall/CPU ms"
printf '%-7s %-7s %-10s %-19s %-13s %-9s %-34s %-9s %s\n' codes files total-KiB "debug wall/CPU" "main/shard" "max-mem" "first ms" "all ms" "loaded"
uptime
for count in "${counts[@]}"; do
    dir="$work/gen/$count"
    files=("$dir"/*.swift)
    main="$dir/RulebookRules.swift"
    shard=$(ls -S "$dir"/RulebookData*.swift | sed -n 1p)   # the largest data file (sed reads all: no SIGPIPE)
    build="$work/build-$count"
    mkdir -p "$build"
    common=(-swift-version 6 -Onone -g -module-name GeneratedRules -I "$debug_modules" -warnings-as-errors)
    # Whole debug compile of every file (what `swift build` does for a target holding them).
    (cd "$build" && timed "$build/total.time" swiftc -c -parse-as-library -enable-testing -enable-batch-mode -j "$jobs" \
        "${common[@]}" "${files[@]}")
    # One file on its own (as a primary file, the others as context).
    primary() {  # primary OUT FILE
        local out=$1 file=$2 arguments=() other
        for other in "${files[@]}"; do
            if [ "$other" = "$file" ]; then arguments+=(-primary-file "$other"); else arguments+=("$other"); fi
        done
        (cd "$build" && timed "$out" swiftc -frontend -c "${arguments[@]}" -enable-testing -parse-as-library \
            "${common[@]}" -o "$build/primary.o")
    }
    primary "$build/main.time" "$main"
    primary "$build/shard.time" "$shard"
    # Runtime load: the Rulebook runtime built -O (the decoder runs there); generated files -Onone.
    swiftc -Onone -wmo -swift-version 6 -module-name LoadProbe -I "$release_modules" "$work/main.swift" "${files[@]}" \
        "$release_bin"/Rulebook.build/*.o -o "$build/probe" 2>"$build/probe.log" || { cat "$build/probe.log" >&2; exit 1; }
    read -r loaded load_ms one_ms < <("$build/probe")
    read -r total_s total_cpu total_kb < "$build/total.time"
    read -r _ main_cpu main_kb < "$build/main.time"
    read -r _ shard_cpu shard_kb < "$build/shard.time"
    max_kb=$(printf '%s\n' "$total_kb" "$main_kb" "$shard_kb" | sort -n | tail -1)
    printf '%-7s %-7s %-10s %-19s %-13s %-9s %-34s %-9s %s\n' "$count" "${#files[@]}" "$(( $(cat "${files[@]}" | wc -c) / 1024 ))" \
        "${total_s}s/${total_cpu}s" "${main_cpu}s/${shard_cpu}s" \
        "$(( max_kb / 1024 ))MiB" "$load_ms" "$one_ms" "$loaded"
done
