#!/usr/bin/env bash
# Release-mode benchmark of the rule engine (RuleBook.evaluate), 1,000,000 evaluations per scenario.
# Compiles the runtime library's sources with the benchmark's main.swift; not part of `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/rulebook-bench-engine"
swiftc -O -swift-version 6 -module-name BenchEngine Sources/Rulebook/*.swift Scripts/bench-engine/main.swift -o "$out"
"$out" "$@"
