#!/usr/bin/env bash
# Rulebook benchmark (issue 6): rulebook generate vs cmark-gfm vs reading the bytes, on synthetic corpora.
#
#   Scripts/benchmark.sh                       # sizes 1000 and 10000, 5 repetitions, median reported
#   Scripts/benchmark.sh --sizes "1000" --reps 3
#   Scripts/benchmark.sh --swift-compile --engine
#
# Works from a fresh clone: builds rulebook in release, writes the corpora with Scripts/make-corpus.py
# into .build-bench/ (git-ignored), installs cmark-gfm and GNU time with apt-get when they are missing.
set -euo pipefail

SIZES="1000 10000"
REPS=5
SEED=1
SWIFT_COMPILE=0
ENGINE=0
BUILD=1

usage() {
    cat <<'EOF'
USAGE: Scripts/benchmark.sh [--sizes "1000 10000"] [--reps 5] [--seed 1] [--swift-compile] [--engine] [--no-build]

For each corpus size N (documents of about 4 KB, from Scripts/make-corpus.py), measures with REPS
repetitions and reports the median of:
  rulebook   full `rulebook generate --input CORPUS --output OUT` (release build, empty OUT), with peak RSS
  cmark-gfm  `cat CORPUS/* | cmark-gfm -e table > /dev/null` (the reference)
  floor      `cat CORPUS/* > /dev/null` (reading the bytes)
  incr       `rulebook generate` after appending a sentence to one document
  check      `rulebook generate --check` with nothing changed

Options:
  --sizes "N …"     corpus sizes (default "1000 10000")
  --reps R          repetitions per measurement (default 5)
  --seed S          corpus seed (default 1)
  --swift-compile   also run Scripts/measure-swift-compile.sh (debug compile time of generated Swift)
  --engine          also run Scripts/bench-engine.sh (a million rule-engine evaluate calls)
  --no-build        use the existing release build of rulebook
Environment: RULEBOOK_BIN=PATH measures that rulebook executable instead of building one.
The build stamp of rulebook generate goes to .build-bench/cache (RULEBOOK_CACHE_DIR); it is removed
before each full run (with the output folder), so "rulebook" is a first run and "incr"/"check" reuse
the full run's output folder and manifest.
Work files (corpora, outputs, logs) go to .build-bench/.
EOF
}

die() { printf 'benchmark: error: %s\n' "$*" >&2; exit 1; }
say() { printf '==> %s\n' "$*" >&2; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --sizes) [[ $# -ge 2 ]] || die "--sizes needs a value"; SIZES="$2"; shift 2 ;;
        --sizes=*) SIZES="${1#*=}"; shift ;;
        --reps) [[ $# -ge 2 ]] || die "--reps needs a value"; REPS="$2"; shift 2 ;;
        --reps=*) REPS="${1#*=}"; shift ;;
        --seed) [[ $# -ge 2 ]] || die "--seed needs a value"; SEED="$2"; shift 2 ;;
        --seed=*) SEED="${1#*=}"; shift ;;
        --swift-compile) SWIFT_COMPILE=1; shift ;;
        --engine) ENGINE=1; shift ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
done
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer (got '$REPS')"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "--seed must be a non-negative integer (got '$SEED')"
for n in $SIZES; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "--sizes must be positive integers (got '$n')"; done
[[ -n "${SIZES// /}" ]] || die "--sizes is empty"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$ROOT/.build-bench"
mkdir -p "$WORK"
export RULEBOOK_CACHE_DIR="$WORK/cache"   # rulebook generate's build stamp (removed before each full run)
export LC_ALL=C

# ---------------------------------------------------------------------------------------------
# Tools

apt_install() {  # apt_install PACKAGE: install a Debian package, with sudo when not root
    command -v apt-get >/dev/null || die "$1 is missing and apt-get is not available; install '$1' and retry"
    local sudo=""
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null || die "$1 is missing; run 'apt-get install -y $1' as root and retry"
        sudo="sudo"
    fi
    say "installing $1 (apt-get)"
    $sudo apt-get install -y "$1" >/dev/null 2>&1 || { $sudo apt-get update >/dev/null 2>&1 && $sudo apt-get install -y "$1" >/dev/null; } \
        || die "could not install $1 with apt-get"
}
command -v python3 >/dev/null || die "python3 is needed to write the corpus (Scripts/make-corpus.py)"
command -v swift >/dev/null || die "swift is needed to build rulebook"
command -v cmark-gfm >/dev/null || apt_install cmark-gfm
[[ -x /usr/bin/time ]] || apt_install time
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) is still missing"

# ---------------------------------------------------------------------------------------------
# Build

cd "$ROOT"
if [[ -n "${RULEBOOK_BIN:-}" ]]; then
    BUILD=0   # an explicit binary (e.g. a build from another checkout): nothing to build
elif [[ "$BUILD" == 1 ]]; then
    say "building rulebook (release)"
    swift build -c release --product rulebook >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log" >&2; die "release build failed (log: $WORK/build.log)"; }
fi
BIN="${RULEBOOK_BIN:-$(swift build -c release --show-bin-path)/rulebook}"
[[ -x "$BIN" ]] || die "no rulebook executable at $BIN (run without --no-build)"
HAVE_GENERATE=0
if "$BIN" generate --help >/dev/null 2>&1; then
    HAVE_GENERATE=1
else
    say "note: this rulebook has no 'generate' command yet; the rulebook columns are skipped"
fi

# ---------------------------------------------------------------------------------------------
# Helpers

now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f×", a / b }'; }
percent() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.1f%%", 100 * a / b }'; }

# The corpus bytes in sorted path order; find|xargs avoids argument-list limits at 10,000 files.
corpus_bytes() { (cd "$1" && find . -type f \( -name '*.md' -o -name '*.txt' \) -print0 | sort -z | xargs -0 cat); }

# run_timed LOGPREFIX CMD…: runs CMD under GNU time; sets T (wall s), RSS_KB, CPU_PCT, RC.
run_timed() {
    local prefix="$1"; shift
    local t0 t1
    # The previous command's files (180 MB for a 10,000-document run) are written back to the disk by the
    # kernel in the background; without this, that writeback takes CPU from whatever is measured next.
    sync
    t0=$(now_ns)
    set +e
    /usr/bin/time -v -o "$prefix.time" "$@" >"$prefix.out" 2>"$prefix.err"
    RC=$?
    set -e
    t1=$(now_ns)
    T=$(secs "$t0" "$t1")
    RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$prefix.time")
    CPU_PCT=$(awk -F': ' '/Percent of CPU this job got/ { print $2 }' "$prefix.time")
    CPU_S=$(awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ { s += $2 } END { printf "%.3f", s }' "$prefix.time")
}

# Checks a rulebook exit code: 0 or 1 (error diagnostics) are results; anything else stops the run.
check_rc() {
    local what="$1" prefix="$2"
    if [[ "$RC" -ne 0 && "$RC" -ne 1 ]]; then
        tail -n 20 "$prefix.err" >&2
        die "$what exited with status $RC (stderr: $prefix.err)"
    fi
}

TOUCHED=""
BACKUP="$WORK/touched-document.bak"
restore_touched() { if [[ -n "$TOUCHED" && -f "$BACKUP" ]]; then cp "$BACKUP" "$TOUCHED"; rm -f "$BACKUP"; fi; TOUCHED=""; }
trap restore_touched EXIT
trap 'exit 130' INT TERM

MACHINE="$(nproc) cores, $(lscpu 2>/dev/null | awk -F: '/Model name/ && !done { gsub(/^ +/, "", $2); print $2; done = 1 }')"
LOAD="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
SUMMARY="$WORK/results.md"
DIAG_SUMMARY=""
declare -A R_FULL R_CMARK R_FLOOR R_RSS R_CPU R_INCR R_CHECK R_BYTES R_DIAG R_RAM R_COPY R_COPYRAM R_CMARKALT
# A RAM file system for the "OUT in RAM" column (the same run without the disk): /dev/shm when writable.
RAMDIR=""
if [[ -d /dev/shm && -w /dev/shm ]]; then RAMDIR="$(mktemp -d /dev/shm/rulebook-bench.XXXXXX)"; fi
cleanup() { restore_touched; [[ -n "$RAMDIR" ]] && rm -rf "$RAMDIR"; }
trap cleanup EXIT

for N in $SIZES; do
    CORPUS="$WORK/corpus-$N"
    OUT="$WORK/out-$N"
    LOG="$WORK/log-$N"
    mkdir -p "$LOG"

    # Corpus: regenerated when the generator, the seed or the size changed.
    stamp="$(sha256sum "$ROOT/Scripts/make-corpus.py" | cut -c1-16) seed=$SEED count=$N"
    if [[ ! -d "$CORPUS" || "$(cat "$CORPUS.stamp" 2>/dev/null)" != "$stamp" ]]; then
        say "writing corpus of $N documents to ${CORPUS#"$ROOT"/}"
        rm -rf "$CORPUS"
        python3 "$ROOT/Scripts/make-corpus.py" --count "$N" --seed "$SEED" --out "$CORPUS"
        printf '%s\n' "$stamp" >"$CORPUS.stamp"
    fi
    R_BYTES[$N]=$(corpus_bytes "$CORPUS" | wc -c)
    corpus_bytes "$CORPUS" >/dev/null   # warm the page cache

    # (3) floor and (2) cmark-gfm on the same byte stream.
    say "N=$N: floor (cat), $REPS repetitions"
    ts=""
    for ((r = 1; r <= REPS; r++)); do
        t0=$(now_ns); corpus_bytes "$CORPUS" >/dev/null; t1=$(now_ns); ts+=" $(secs "$t0" "$t1")"
    done
    R_FLOOR[$N]=$(echo "$ts" | median)
    say "N=$N: cmark-gfm -e table, $REPS repetitions"
    ts=""
    for ((r = 1; r <= REPS; r++)); do
        t0=$(now_ns); corpus_bytes "$CORPUS" | cmark-gfm -e table >/dev/null; t1=$(now_ns); ts+=" $(secs "$t0" "$t1")"
    done
    R_CMARK[$N]=$(echo "$ts" | median)

    R_FULL[$N]="-"; R_RSS[$N]="-"; R_CPU[$N]="-"; R_INCR[$N]="-"; R_CHECK[$N]="-"; R_DIAG[$N]="-"
    R_RAM[$N]="-"; R_COPY[$N]="-"; R_COPYRAM[$N]="-"; R_CMARKALT[$N]="-"
    if [[ "$HAVE_GENERATE" == 1 ]]; then
        # (1) full generate into an empty output folder.
        say "N=$N: rulebook generate (full), $REPS repetitions"
        ts=""; rss=""; cpu=""; cpus=""
        for ((r = 1; r <= REPS; r++)); do
            rm -rf "$OUT" "$RULEBOOK_CACHE_DIR"   # a true full run: no output folder, no build stamp
            run_timed "$LOG/full-$r" "$BIN" generate --input "$CORPUS" --output "$OUT"
            check_rc "rulebook generate" "$LOG/full-$r"
            ts+=" $T"; rss+=" $RSS_KB"; cpu+=" ${CPU_PCT%\%}"; cpus+=" $CPU_S"
        done
        R_FULL[$N]=$(echo "$ts" | median)
        R_RSS[$N]=$(awk -v k="$(echo "$rss" | median)" 'BEGIN { printf "%.0f", k / 1024 }')
        R_CPU[$N]="$(echo "$cpus" | median) s, $(echo "$cpu" | median | awk '{ printf "%.0f%%", $1 }')"

        # (1b) The file-creation floor: copying the output folder rulebook just wrote (the same files,
        #      no compiler) on the same disk; and the full run again with OUT in RAM (tmpfs), each
        #      repetition right after a cmark-gfm run (the machine's speed drifts within minutes: the pair
        #      sees the same conditions; "cmark-gfm, alternated" is the median of those runs).
        say "N=$N: cp -r OUT (file-creation floor), then cmark-gfm and rulebook with OUT in RAM alternated, $REPS repetitions"
        ts=""; tsr=""; tsc=""; tsa=""
        for ((r = 1; r <= REPS; r++)); do
            rm -rf "$OUT.copy"; sync
            t0=$(now_ns); cp -r "$OUT" "$OUT.copy"; t1=$(now_ns); ts+=" $(secs "$t0" "$t1")"
            rm -rf "$OUT.copy"; sync
            if [[ -n "$RAMDIR" ]]; then
                t0=$(now_ns); corpus_bytes "$CORPUS" | cmark-gfm -e table >/dev/null; t1=$(now_ns); tsa+=" $(secs "$t0" "$t1")"
                rm -rf "$RAMDIR/out" "$RAMDIR/copy" "$RULEBOOK_CACHE_DIR"
                run_timed "$LOG/ram-$r" "$BIN" generate --input "$CORPUS" --output "$RAMDIR/out"
                check_rc "rulebook generate (OUT in RAM)" "$LOG/ram-$r"
                tsr+=" $T"
                t0=$(now_ns); cp -r "$RAMDIR/out" "$RAMDIR/copy"; t1=$(now_ns); tsc+=" $(secs "$t0" "$t1")"
                rm -rf "$RAMDIR/out" "$RAMDIR/copy"
            fi
        done
        R_COPY[$N]=$(echo "$ts" | median)
        [[ -n "$RAMDIR" ]] && R_RAM[$N]=$(echo "$tsr" | median) && R_COPYRAM[$N]=$(echo "$tsc" | median) \
            && R_CMARKALT[$N]=$(echo "$tsa" | median)
        # The incremental runs below start from the full run's state again.
        rm -rf "$RULEBOOK_CACHE_DIR"
        run_timed "$LOG/refull" "$BIN" generate --input "$CORPUS" --output "$OUT"
        check_rc "rulebook generate (again)" "$LOG/refull"
        # Diagnostics of the (deterministic) full run.
        errs=$(grep -c ': error: ' "$LOG/full-1.err" || true)
        warns=$(grep -c ': warning: ' "$LOG/full-1.err" || true)
        notes=$(grep -c ': note: ' "$LOG/full-1.err" || true)
        R_DIAG[$N]="$errs errors, $warns warnings, $notes notes"
        DIAG_SUMMARY+="N=$N: ${R_DIAG[$N]} (full log: ${LOG#"$ROOT"/}/full-1.err)"$'\n'
        ids=$(grep -o '\[[a-z0-9.-]*\]$' "$LOG/full-1.err" | sort | uniq -c | sort -rn | head -n 12 || true)
        [[ -n "$ids" ]] && DIAG_SUMMARY+="$ids"$'\n'
        DIAG_SUMMARY+="last line: $(tail -n 1 "$LOG/full-1.err" 2>/dev/null)"$'\n'
        # What was extracted, checked against what the generator wrote.
        if [[ -d "$OUT/JSON" ]]; then
            python3 "$ROOT/Scripts/make-corpus.py" --count "$N" --seed "$SEED" --verify "$OUT/JSON" 2>"$LOG/verify.err" || true
            DIAG_SUMMARY+="extraction check: $(tail -n 1 "$LOG/verify.err") (details: ${LOG#"$ROOT"/}/verify.err)"$'\n'
        fi

        # (4) incremental: append a sentence to one document (a different sentence each repetition).
        say "N=$N: rulebook generate after touching one document, $REPS repetitions"
        touched="$(cd "$CORPUS" && find . -type f \( -name '*.md' -o -name '*.txt' \) | sort | awk -v n="$N" 'NR == int(n / 2) + 1 { print }')"
        touched="$CORPUS/${touched#./}"
        cp "$touched" "$BACKUP"
        TOUCHED="$touched"   # from here on, an exit restores the document
        ts=""
        for ((r = 1; r <= REPS; r++)); do
            cp "$BACKUP" "$TOUCHED"
            printf '\nThis sentence was appended by the benchmark in repetition %d.\n' "$r" >>"$TOUCHED"
            run_timed "$LOG/incr-$r" "$BIN" generate --input "$CORPUS" --output "$OUT"
            check_rc "rulebook generate (incremental)" "$LOG/incr-$r"
            ts+=" $T"
        done
        R_INCR[$N]=$(echo "$ts" | median)
        restore_touched
        # A document changed less than two seconds before a run is read again by later runs (file times
        # are coarse); the --check runs below model the usual case, a check some time after the last edit.
        sleep 2.1
        run_timed "$LOG/resync" "$BIN" generate --input "$CORPUS" --output "$OUT"
        check_rc "rulebook generate (resync)" "$LOG/resync"

        # (5) --check with nothing changed: must exit 0.
        say "N=$N: rulebook generate --check (no change), $REPS repetitions"
        ts=""
        for ((r = 1; r <= REPS; r++)); do
            run_timed "$LOG/check-$r" "$BIN" generate --input "$CORPUS" --output "$OUT" --check
            [[ "$RC" -eq 0 ]] || say "warning: --check exited $RC with nothing changed (see $LOG/check-$r.err)"
            check_rc "rulebook generate --check" "$LOG/check-$r"
            ts+=" $T"
        done
        R_CHECK[$N]=$(echo "$ts" | median)
    fi
done

# ---------------------------------------------------------------------------------------------
# Report

{
    echo "Rulebook benchmark — $(date -u +%Y-%m-%d), commit $COMMIT, $MACHINE; median of $REPS runs, seconds; load average before the run: $LOAD"
    echo
    echo "| documents | MB | rulebook | cmark-gfm | floor (cat) | rulebook / cmark-gfm | rulebook / floor | peak RSS MB | CPU time, use | incremental (1 touched) | --check (no change) |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for N in $SIZES; do
        mb=$(awk -v b="${R_BYTES[$N]}" 'BEGIN { printf "%.1f", b / 1e6 }')
        incr="${R_INCR[$N]}"; [[ "$incr" != "-" ]] && incr="$incr ($(percent "${R_INCR[$N]}" "${R_FULL[$N]}"))"
        chk="${R_CHECK[$N]}"; [[ "$chk" != "-" ]] && chk="$chk ($(percent "${R_CHECK[$N]}" "${R_FULL[$N]}"))"
        echo "| $N | $mb | ${R_FULL[$N]} | ${R_CMARK[$N]} | ${R_FLOOR[$N]} | $(ratio "${R_FULL[$N]}" "${R_CMARK[$N]}") | $(ratio "${R_FULL[$N]}" "${R_FLOOR[$N]}") | ${R_RSS[$N]} | ${R_CPU[$N]} | $incr | $chk |"
    done
    echo
    echo "Writing the output: the same full run with OUT in RAM (tmpfs), and the floor of creating the output files"
    echo "(\`cp -r\` of the output folder rulebook wrote, i.e. the same files without any compiling), on disk and in RAM:"
    echo
    echo "| documents | rulebook, OUT on disk | rulebook, OUT in RAM | OUT in RAM / cmark-gfm | cmark-gfm, alternated | OUT in RAM / cmark-gfm alternated | cp -r OUT, disk | cp -r OUT, RAM | rulebook on disk − cp -r on disk |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for N in $SIZES; do
        rest=$(awk -v a="${R_FULL[$N]}" -v b="${R_COPY[$N]}" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.3f", a - b }')
        echo "| $N | ${R_FULL[$N]} | ${R_RAM[$N]} | $(ratio "${R_RAM[$N]}" "${R_CMARK[$N]}") | ${R_CMARKALT[$N]} | $(ratio "${R_RAM[$N]}" "${R_CMARKALT[$N]}") | ${R_COPY[$N]} | ${R_COPYRAM[$N]} | $rest |"
    done
    read -r -a sizes_arr <<<"$SIZES"
    if [[ ${#sizes_arr[@]} -ge 2 ]]; then
        small="${sizes_arr[0]}"; large="${sizes_arr[${#sizes_arr[@]} - 1]}"
        echo
        echo "Growth ${large} / ${small} documents: rulebook $(ratio "${R_FULL[$large]}" "${R_FULL[$small]}") (OUT in RAM $(ratio "${R_RAM[$large]}" "${R_RAM[$small]}")), cmark-gfm $(ratio "${R_CMARK[$large]}" "${R_CMARK[$small]}"), floor $(ratio "${R_FLOOR[$large]}" "${R_FLOOR[$small]}") (linear: $(ratio "$large" "$small"))"
    fi
    if [[ "$HAVE_GENERATE" == 0 ]]; then
        echo
        echo "(rulebook columns skipped: this build has no 'generate' command)"
    fi
    if [[ -n "$DIAG_SUMMARY" ]]; then
        echo
        echo "Diagnostics of the full run:"
        printf '%s' "$DIAG_SUMMARY"
    fi
} | tee "$SUMMARY"

if [[ "$SWIFT_COMPILE" == 1 ]]; then
    echo
    if [[ -f "$ROOT/Scripts/measure-swift-compile.sh" ]]; then
        say "debug compile time of generated Swift (Scripts/measure-swift-compile.sh)"
        bash "$ROOT/Scripts/measure-swift-compile.sh" | tee -a "$SUMMARY"
    else
        echo "Swift compile: Scripts/measure-swift-compile.sh is not in this checkout; skipped." | tee -a "$SUMMARY"
    fi
fi
if [[ "$ENGINE" == 1 ]]; then
    echo
    engine_script=""
    for candidate in bench-engine.sh measure-engine.sh; do
        if [[ -f "$ROOT/Scripts/$candidate" ]]; then engine_script="$ROOT/Scripts/$candidate"; break; fi
    done
    if [[ -n "$engine_script" ]]; then
        say "a million rule-engine evaluate calls (${engine_script#"$ROOT"/})"
        bash "$engine_script" | tee -a "$SUMMARY"
    else
        echo "Engine: Scripts/bench-engine.sh is not in this checkout; skipped." | tee -a "$SUMMARY"
    fi
fi
say "results written to ${SUMMARY#"$ROOT"/}"
