#!/usr/bin/env bash
# Builds the libFuzzer target for the parser + extraction and fuzzes it.
#
#   Scripts/fuzz.sh [SECONDS]        fuzz for SECONDS (default 60), then replay the regressions
#   Scripts/fuzz.sh --regressions    only replay Tests/Fixtures/fuzz-regressions/ (no fuzzing)
#
# Environment: FUZZ_OPT (default -Onone: a 30 s build; -O builds in minutes and runs a little faster), FUZZ_CORPUS (default .build/fuzz/corpus),
# FUZZ_ARGS (extra libFuzzer flags). Works from a fresh clone with the Swift toolchain alone:
# swiftc on Linux ships libFuzzer and AddressSanitizer (clang_rt.fuzzer / clang_rt.asan).
#
# Crashes, timeouts and out-of-memory inputs are written to .build/fuzz/artifacts/; each one
# found must become a file in Tests/Fixtures/fuzz-regressions/ with a fix
# (ReliabilityFuzzRegressionTests compiles every file there).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=fuzz
seconds=60
case "${1:-}" in
  --regressions) mode=regressions ;;
  "") ;;
  *[!0-9]*) echo "usage: Scripts/fuzz.sh [SECONDS | --regressions]" >&2; exit 2 ;;
  *) seconds=$1 ;;
esac

work=.build/fuzz
corpus=${FUZZ_CORPUS:-$work/corpus}
artifacts=$work/artifacts
binary=$work/rulebook-fuzz
mkdir -p "$work" "$corpus" "$artifacts"

if [[ "$(uname)" != Linux ]]; then
  echo "fuzz.sh: libFuzzer with swiftc needs Linux (swiftc -sanitize=fuzzer); skipping on $(uname)" >&2
  exit 0
fi

# Probe the toolchain: swiftc must find its fuzzer and ASan runtimes.
probe=$work/probe
if ! printf '@_cdecl("LLVMFuzzerTestOneInput") public func f(_ d: UnsafePointer<UInt8>?, _ n: Int) -> CInt { 0 }\n' > "$probe.swift" \
   || ! swiftc -sanitize=fuzzer,address -parse-as-library "$probe.swift" -o "$probe" 2> "$probe.log"; then
  cat "$probe.log" >&2
  if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    # Some distributions of the toolchain leave the compiler-rt archives out; LLVM's package has them.
    echo "fuzz.sh: swiftc cannot link the fuzzer runtime; installing libclang-rt-dev" >&2
    apt-get install -y libclang-rt-dev >&2 || true
    clang_rt=$(ls -d /usr/lib/llvm-*/lib/clang/*/lib/linux 2>/dev/null | tail -1 || true)
    toolchain_rt=$(dirname "$(dirname "$(command -v swiftc)")")/lib/clang
    if [[ -n "$clang_rt" ]]; then
      version=$(ls "$toolchain_rt" | head -1)
      mkdir -p "$toolchain_rt/$version/lib/linux" && cp -n "$clang_rt"/libclang_rt.{fuzzer,asan}*-x86_64.a "$toolchain_rt/$version/lib/linux/" 2>/dev/null || true
    fi
    swiftc -sanitize=fuzzer,address -parse-as-library "$probe.swift" -o "$probe" \
      || { echo "fuzz.sh: swiftc -sanitize=fuzzer still does not link" >&2; exit 1; }
  else
    echo "fuzz.sh: swiftc -sanitize=fuzzer does not link (needs clang_rt.fuzzer in the toolchain)" >&2
    exit 1
  fi
fi

# One module of the runtime, the compiler library and the target (the executable's main.swift is left out).
sources=(Sources/Rulebook/*.swift)
while IFS= read -r file; do sources+=("$file"); done < <(find Sources/RulebookCompiler -name '*.swift' | LC_ALL=C sort)
sources+=(Fuzz/FuzzTarget.swift)
newest=$(ls -t "${sources[@]}" Scripts/fuzz.sh | head -1)
if [[ ! -x "$binary" || "$newest" -nt "$binary" ]]; then
  echo "fuzz.sh: building $binary (${#sources[@]} files)" >&2
  rm -f "$binary" "$binary.new"
  swiftc -sanitize=fuzzer,address -parse-as-library -module-name Rulebook -swift-version 6 \
    ${FUZZ_OPT:--Onone} -g -suppress-warnings "${sources[@]}" -o "$binary.new" 2>&1 \
    | { grep -v 'Cannot export local symbol' || true; } >&2 \
    || { echo "fuzz.sh: build failed" >&2; rm -f "$binary.new"; exit 1; }
  mv "$binary.new" "$binary"
fi

regressions=(Tests/Fixtures/fuzz-regressions/*)
replay() {
  local files=()
  for file in "${regressions[@]}"; do [[ -f "$file" && "$file" != *.md.txt && "$(basename "$file")" != README.md ]] && files+=("$file"); done
  if (( ${#files[@]} > 0 )); then
    echo "fuzz.sh: replaying ${#files[@]} regression inputs" >&2
    "$binary" -timeout=10 -rss_limit_mb=4096 "${files[@]}" > "$work/regressions.log" 2>&1 \
      || { tail -50 "$work/regressions.log" >&2; echo "fuzz.sh: a regression input fails again" >&2; exit 1; }
  fi
}

if [[ $mode == regressions ]]; then
  replay
  exit 0
fi

# One in-process fuzzing job on one core (-jobs/-workers would fork a child that logs to ./fuzz-N.log).
echo "fuzz.sh: fuzzing for ${seconds}s (corpus $corpus; seeds from seeds/, Tests/Fixtures/documents/, fuzz-regressions/)" >&2
set +e
"$binary" "$corpus" seeds Tests/Fixtures/documents Tests/Fixtures/fuzz-regressions \
  -dict=Fuzz/rulebook.dict -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
  -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} \
  2>&1 | tee "$work/last-run.log" | grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|ERROR|SUMMARY|stat::|Test unit written' >&2
status=${PIPESTATUS[0]}
set -e
if (( status != 0 )); then
  echo "fuzz.sh: the fuzzer found a failing input (exit $status); see $work/last-run.log and $artifacts/" >&2
  tail -60 "$work/last-run.log" >&2
  exit 1
fi
replay
echo "fuzz.sh: no crash, timeout or leak in ${seconds}s" >&2
