#!/usr/bin/env bash
# Measures the generated Swift: debug compile time and memory for 100 / 1,000 / 10,000 codes, and the
# one-time load of the rules at run time (RuleBook.generated, release build).
#
#   Scripts/measure-swift-compile.sh [COUNT...]      (default: 100 1000 10000)
#
# Records are the seed documents' records (compiled by the real pipeline) repeated under new codes and
# paths, about 7 KB of JSON each; RULEBOOK_MEASURE_RECORDS=synthetic uses smaller synthetic records. The
# test EmitterMeasurementTests writes the Swift that SwiftEmitter emits for them. The machine's load
# (uptime) is printed: on a shared machine wall times exceed CPU times. Each output is compiled as a debug build would compile it
# (swiftc -Onone -g, Swift 6 mode, warnings as errors) against the Rulebook module only.
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

echo "debug compile: wall / CPU (user+sys) seconds, both files; data/rules: each file alone as primary file (CPU)"
echo "first: RuleBook.generated + first code() + first evaluate() in a fresh process, wall ms each = total wall/CPU (runtime -O);"
echo "all: then book.codes (decodes every record), wall/CPU ms"
printf '%-7s %-9s %-9s %-19s %-13s %-9s %-34s %-9s %s\n' codes data-KiB rules-KiB "debug wall/CPU" "data/rules" "max-mem" "first ms" "all ms" "loaded"
uptime
for count in "${counts[@]}"; do
    dir="$work/gen/$count"
    data="$dir/RulebookData.swift"
    rules="$dir/RulebookRules.swift"
    build="$work/build-$count"
    mkdir -p "$build"
    common=(-swift-version 6 -Onone -g -module-name GeneratedRules -I "$debug_modules" -warnings-as-errors)
    # Whole debug compile of both files (what `swift build` does for a target holding them).
    (cd "$build" && timed "$build/total.time" swiftc -c -parse-as-library -enable-testing "${common[@]}" "$data" "$rules")
    # Each file on its own (as a primary file, the other as context).
    (cd "$build" && timed "$build/data.time" swiftc -frontend -c -primary-file "$data" "$rules" -enable-testing \
        -parse-as-library "${common[@]}" -o "$build/data.o")
    (cd "$build" && timed "$build/rules.time" swiftc -frontend -c "$data" -primary-file "$rules" -enable-testing \
        -parse-as-library "${common[@]}" -o "$build/rules.o")
    # Runtime load: the Rulebook runtime built -O (the decoder runs there); generated files -Onone.
    swiftc -Onone -swift-version 6 -module-name LoadProbe -I "$release_modules" "$work/main.swift" "$data" "$rules" \
        "$release_bin"/Rulebook.build/*.o -o "$build/probe" 2>"$build/probe.log" || { cat "$build/probe.log" >&2; exit 1; }
    read -r loaded load_ms one_ms < <("$build/probe")
    read -r total_s total_cpu total_kb < "$build/total.time"
    read -r _ data_cpu data_kb < "$build/data.time"
    read -r _ rules_cpu rules_kb < "$build/rules.time"
    max_kb=$(printf '%s\n' "$total_kb" "$data_kb" "$rules_kb" | sort -n | tail -1)
    printf '%-7s %-9s %-9s %-19s %-13s %-9s %-34s %-9s %s\n' "$count" "$(( $(stat -c %s "$data") / 1024 ))" \
        "$(( $(stat -c %s "$rules") / 1024 ))" "${total_s}s/${total_cpu}s" "${data_cpu}s/${rules_cpu}s" \
        "$(( max_kb / 1024 ))MiB" "$load_ms" "$one_ms" "$loaded"
done
