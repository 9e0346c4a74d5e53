#!/usr/bin/env bash
# End-to-end test of Rulebook's SwiftPM plugins on the consumer package Examples/ClaimDesk.
# Called by .ci/run; works from a fresh clone with a cold cache. Never modifies committed files:
# every edit happens in a temporary copy of the example.
#
# Checks:
#   1. the committed example builds from clean (scratch path Examples/ClaimDesk/.build) and
#      `claimdesk` prints the code, its modifiers and its payers' prior authorization;
#   2. a second build with nothing changed does not run the compiler again (build log and mtimes);
#   3. touching a document reruns the compiler; editing one shows the change in the rebuilt consumer;
#   4. a document with an error fails the build, naming the document's path and line;
#   5. the command plugin: `generate-rules --check` passes on the repository, `--target` writes
#      <target>/Generated, and `--check` fails (with a diagnostic) once a document changed.
# Prints PASS/FAIL lines; exits 1 if any check failed.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd -P)"
EXAMPLE="$ROOT/Examples/ClaimDesk"
SCRATCH="$EXAMPLE/.build"
# Where SwiftPM gives the build tool plugin its work directory: <package>/<target>/destination/<plugin>.
PLUGIN_OUT_REL="plugins/outputs/claimdesk/Billing/destination/RulebookPlugin/rulebook"
DISPLAY_NAME="billing documents for Billing with rulebook"   # from the plugin's command display name
MD_DOC="Sources/Billing/Documents/cpt-20610-arthrocentesis.md"
TXT_DOC="Sources/Billing/Documents/hcpcs-j3301-triamcinolone.txt"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rulebook-plugin-test.XXXXXX")"
LOGS="$WORK/logs"
mkdir -p "$LOGS"
# RULEBOOK_KEEP_TEST_FILES=1 keeps the temporary copy and the build logs for inspection.
if [ -n "${RULEBOOK_KEEP_TEST_FILES:-}" ]; then echo "keeping $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi

failures=0
passes=0
pass() { echo "PASS: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
show() { echo "---- $1 (last ${2:-30} lines) ----"; tail -n "${2:-30}" "$1" | sed 's/^/    /'; echo "----"; }
finish() {
    echo
    echo "test-plugin: $passes passed, $failures failed"
    [ "$failures" -eq 0 ] || exit 1
    exit 0
}
# build DIR LOG [extra swift build args…]: builds the package in DIR with the shared scratch path.
# The copy in $WORK has the same package identity (folder name ClaimDesk) and the same Rulebook
# checkout, so it reuses the compiled compiler instead of building it a second time.
build() {
    local dir="$1" log="$2"
    shift 2
    local start=$SECONDS
    (cd "$dir" && swift build --scratch-path "$SCRATCH" "$@") >"$log" 2>&1
    local status=$?
    echo "      (swift build in ${dir#"$ROOT/"}: exit $status, $((SECONDS - start)) s)"
    return $status
}
mtime() { date -r "$1" +%s.%N 2>/dev/null || echo missing; }
contains() { grep -qF -- "$2" "$1"; }

echo "== Rulebook plugin test: $EXAMPLE (scratch $SCRATCH)"

# ---------------------------------------------------------------- 1. clean build of the committed example
rm -rf "$SCRATCH"
if build "$EXAMPLE" "$LOGS/clean.log"; then
    pass "clean build of Examples/ClaimDesk"
else
    fail "clean build of Examples/ClaimDesk"
    show "$LOGS/clean.log" 60
    finish
fi
if contains "$LOGS/clean.log" "$DISPLAY_NAME"; then
    pass "the build ran the RulebookPlugin command ($(grep -F "$DISPLAY_NAME" "$LOGS/clean.log" | head -1 | sed 's/^\[[0-9/]*\] //'))"
else
    fail "the build log does not show the RulebookPlugin command"
fi
if grep -qi "unhandled" "$LOGS/clean.log"; then
    fail "SwiftPM warned about unhandled files"; grep -i -A2 unhandled "$LOGS/clean.log"
else
    pass "no 'unhandled files' warning for the documents or rulebook.json"
fi
if grep -q "warning:" "$LOGS/clean.log"; then
    fail "the clean build has warnings"; grep "warning:" "$LOGS/clean.log" | head
else
    pass "the clean build has no warnings"
fi

BIN="$(cd "$EXAMPLE" && swift build --scratch-path "$SCRATCH" --show-bin-path)/claimdesk"
"$BIN" CPT 20610 >"$LOGS/run-cpt.txt" 2>&1
status=$?
echo "      \$ claimdesk CPT 20610   (exit $status)"
sed 's/^/      | /' "$LOGS/run-cpt.txt"
# Facts stated in the committed documents.
for expected in "CPT 20610: Arthrocentesis" "modifiers: 25, 50, LT, RT, XS" \
                "Medicare [medicare]: notRequired" "Kaiser Permanente [kaiser]: conditional" \
                "cpt-20610-arthrocentesis.md:"; do
    if [ "$status" -eq 0 ] && contains "$LOGS/run-cpt.txt" "$expected"; then
        pass "claimdesk CPT 20610 prints '$expected'"
    else
        fail "claimdesk CPT 20610 does not print '$expected'"
    fi
done
"$BIN" HCPCS J3301 >"$LOGS/run-hcpcs.txt" 2>&1
status=$?
echo "      \$ claimdesk HCPCS J3301   (exit $status)"
sed 's/^/      | /' "$LOGS/run-hcpcs.txt"
for expected in "HCPCS J3301: Injection, Triamcinolone Acetonide" "modifiers: JW, JZ, GA" \
                "Cigna [cigna]: required" "hcpcs-j3301-triamcinolone.txt:"; do
    if [ "$status" -eq 0 ] && contains "$LOGS/run-hcpcs.txt" "$expected"; then
        pass "claimdesk HCPCS J3301 prints '$expected'"
    else
        fail "claimdesk HCPCS J3301 does not print '$expected'"
    fi
done
if "$BIN" CPT 99999 >"$LOGS/run-missing.txt" 2>&1; then
    fail "claimdesk CPT 99999 (no such document) exits 0"
else
    pass "claimdesk CPT 99999 fails: $(head -1 "$LOGS/run-missing.txt")"
fi

# JSON bundles: written next to the Swift sources in the plugin work directory, and the JSON folder is
# a declared output, so SwiftPM copies it into the Billing module's resources.
OUT="$SCRATCH/$PLUGIN_OUT_REL"
for json in cpt-20610.json hcpcs-j3301.json index.json rulebook.schema.json; do
    if [ -s "$OUT/JSON/$json" ]; then pass "JSON bundle $PLUGIN_OUT_REL/JSON/$json"; else fail "no JSON bundle $OUT/JSON/$json"; fi
done
# json_code FILE: the code of the single record of a JSON bundle, or nothing.
json_code() { python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); assert b["schemaVersion"]==1 and len(b["codes"])==1; print(b["codes"][0]["system"], b["codes"][0]["code"])' "$1" 2>/dev/null; }
if "$BIN" --json CPT 20610 >"$LOGS/json-cpt.json" 2>&1 && [ "$(json_code "$LOGS/json-cpt.json")" = "CPT 20610" ]; then
    pass "claimdesk --json CPT 20610 reads the bundle from the Billing module's resources (Bundle.module/JSON)"
else
    fail "claimdesk --json CPT 20610 does not print the CPT 20610 bundle"; head -5 "$LOGS/json-cpt.json"
fi

# ---------------------------------------------------------------- 2. nothing changed: no rerun
# The build log names each command that actually runs: the plugin's by its display name
# ("[8/10] Compiling 2 billing documents for Billing with rulebook"), compiler jobs as
# "Compiling Billing X.swift", the tool's link as "Linking rulebook-tool".
ran_rulebook() { grep -qF "$DISPLAY_NAME" "$1"; }
# SwiftPM re-planned the build (the "Planning build" step) after relinking rulebook-tool in its separate
# plugin-tools build (whose output comes before that line): see the NOTE below.
replanned_after_relink() { awk '/Linking rulebook-tool/ && !planned { linked = 1 } /Planning build/ { planned = 1 }
                                END { exit !(linked && planned) }' "$1"; }
copied_json() { grep -q "Copying JSON" "$1"; }
compiled_billing() { grep -Eq "(Compiling|Emitting module) Billing" "$1"; }
SWIFT_OUT=("$OUT/Swift/RulebookRules.swift" "$OUT/Swift/RulebookData.swift")
before="$(mtime "${SWIFT_OUT[0]}") $(mtime "${SWIFT_OUT[1]}")"
sleep 1
for attempt in second third; do
    if build "$EXAMPLE" "$LOGS/$attempt.log"; then
        pass "$attempt build succeeds"
    else
        fail "$attempt build"; show "$LOGS/$attempt.log"
    fi
    if ! ran_rulebook "$LOGS/$attempt.log"; then
        pass "$attempt build with nothing changed did not run rulebook (log: $(grep -F 'Build complete' "$LOGS/$attempt.log"))"
    elif [ "$attempt" = second ] && replanned_after_relink "$LOGS/$attempt.log"; then
        # SwiftPM 6.3 (native build system), not the plugin: the first build after a clean one always
        # re-plans (its "PackageStructure" step has no record in build.db yet), and every re-plan rebuilds
        # the plugin's tool in a second llbuild graph with its own database (plugin-tools.yaml and
        # plugin-tools.db). The main graph relinked the tool after that database recorded it, so the
        # plugin-tools build finds its output changed and relinks; the main graph then sees a new
        # rulebook-tool, which SwiftPM makes an input of every command of the plugin, and the command
        # reruns. Its outputs are unchanged and not rewritten (checked below), so nothing downstream
        # rebuilds. No build without a re-plan does this: the third build is held to the strict check.
        echo "NOTE: $attempt build after a clean build: SwiftPM re-planned and relinked rulebook-tool in its plugin-tools build, so the command reran once (not avoidable from the plugin); checked strictly on the third build"
    else
        fail "$attempt build with nothing changed ran rulebook again"
        show "$LOGS/$attempt.log"
    fi
    if compiled_billing "$LOGS/$attempt.log"; then
        fail "$attempt build recompiled the Billing module"; show "$LOGS/$attempt.log"
    else
        pass "$attempt build did not recompile the Billing module"
    fi
    if copied_json "$LOGS/$attempt.log"; then
        fail "$attempt build copied the JSON bundles into the resources again"; show "$LOGS/$attempt.log"
    else
        pass "$attempt build did not copy the JSON resources again"
    fi
done
after="$(mtime "${SWIFT_OUT[0]}") $(mtime "${SWIFT_OUT[1]}")"
if [ "$before" = "$after" ]; then
    pass "generated Swift files untouched by the later builds (mtimes $after)"
else
    fail "generated Swift files rewritten by a build with nothing changed: $before -> $after"
fi

# ---------------------------------------------------------------- 3. a temporary copy to edit
COPY="$WORK/ClaimDesk"          # same folder name: same package identity, shared scratch reuse
mkdir -p "$COPY"
(cd "$EXAMPLE" && tar --exclude=./.build -cf - .) | tar -xf - -C "$COPY"
# Point the dependency at this checkout by absolute path (the committed manifest says "../..").
sed -i.orig "s|path: \"../..\"|path: \"$ROOT\"|" "$COPY/Package.swift" && rm -f "$COPY/Package.swift.orig"
if ! grep -qF "path: \"$ROOT\"" "$COPY/Package.swift"; then
    fail "could not repoint the copy's Rulebook dependency"; finish
fi
if build "$COPY" "$LOGS/copy.log" && build "$COPY" "$LOGS/copy-again.log"; then
    pass "temporary copy builds"
else
    fail "temporary copy build"; show "$LOGS/copy.log"; show "$LOGS/copy-again.log"; finish
fi
COPY_BIN="$(cd "$COPY" && swift build --scratch-path "$SCRATCH" --show-bin-path)/claimdesk"

# Touch a document without changing it: the compiler reruns (declared input), but unchanged outputs
# are not rewritten, so Billing is not recompiled.
before="$(mtime "${SWIFT_OUT[0]}") $(mtime "${SWIFT_OUT[1]}")"
sleep 1
touch "$COPY/$TXT_DOC"
build "$COPY" "$LOGS/touch.log"
if ran_rulebook "$LOGS/touch.log"; then
    pass "touching $TXT_DOC reruns rulebook"
else
    fail "touching $TXT_DOC did not rerun rulebook"; show "$LOGS/touch.log"
fi
after="$(mtime "${SWIFT_OUT[0]}") $(mtime "${SWIFT_OUT[1]}")"
if [ "$before" = "$after" ] && ! compiled_billing "$LOGS/touch.log"; then
    pass "unchanged outputs are not rewritten: Billing is not recompiled after a touch"
else
    fail "a touch rewrote the generated files or recompiled Billing ($before -> $after)"
fi

# Edit a document: add a modifier row to the CPT 20610 table.
awk '{ print } /^\| XS \|/ { print "| 59 | Distinct procedural service | A different site or session not covered by XS. |" }' \
    "$COPY/$MD_DOC" >"$WORK/edited.md" && cat "$WORK/edited.md" >"$COPY/$MD_DOC"
if build "$COPY" "$LOGS/edit.log" && "$COPY_BIN" CPT 20610 >"$LOGS/run-edit.txt" 2>&1; then
    if contains "$LOGS/run-edit.txt" "modifiers: 25, 50, LT, RT, XS, 59"; then
        pass "after adding modifier 59 to the document, the rebuilt claimdesk prints it: $(grep -F 'modifiers:' "$LOGS/run-edit.txt")"
    else
        fail "the rebuilt claimdesk does not show the edit"; cat "$LOGS/run-edit.txt"
    fi
else
    fail "build or run after editing a document"; show "$LOGS/edit.log"
fi

# Add a document in a new subfolder: SwiftPM re-plans, the plugin declares it, the consumer sees it.
mkdir -p "$COPY/Sources/Billing/Documents/Ultrasound"
cat >"$COPY/Sources/Billing/Documents/Ultrasound/cpt-20611.md" <<'EOF'
# CPT 20611: Arthrocentesis, Major Joint or Bursa; With Ultrasound Guidance, With Permanent Recording and Reporting

## Coding Specifications

| Modifier | Description |
|---|---|
| 50 | Bilateral procedure |
| RT | Right side |
EOF
if build "$COPY" "$LOGS/add.log" && "$COPY_BIN" CPT 20611 >"$LOGS/run-add.txt" 2>&1 \
   && contains "$LOGS/run-add.txt" "modifiers: 50, RT"; then
    pass "a document added in a new subfolder is compiled: $(head -1 "$LOGS/run-add.txt" | cut -c1-60)…"
else
    fail "a document added in a new subfolder is not in the rebuilt consumer"; show "$LOGS/add.log"; cat "$LOGS/run-add.txt"
fi
if "$COPY_BIN" --json CPT 20611 >"$LOGS/json-add.json" 2>&1 && [ "$(json_code "$LOGS/json-add.json")" = "CPT 20611" ]; then
    pass "its JSON bundle is in the rebuilt module's resources"
else
    fail "no JSON bundle resource for the added document"; head -5 "$LOGS/json-add.json"
fi
rm -rf "$COPY/Sources/Billing/Documents/Ultrasound"
if build "$COPY" "$LOGS/remove.log" && ! "$COPY_BIN" CPT 20611 >/dev/null 2>&1; then
    pass "once that document is removed, the rebuilt consumer no longer knows CPT 20611"
else
    fail "removing a document did not remove its code"; show "$LOGS/remove.log"
fi
if "$COPY_BIN" --json CPT 20611 >/dev/null 2>&1; then
    fail "the removed document's JSON bundle is still among the module's resources"
else
    pass "nor ships its JSON bundle as a resource"
fi

# ---------------------------------------------------------------- 4. errors fail the build, located
cp "$COPY/$MD_DOC" "$WORK/good.md"
awk '{ print } /^\| XS \|/ { print "| 5X9 | Not a modifier | Three characters: invalid on purpose. |" }' \
    "$WORK/good.md" >"$COPY/$MD_DOC"
line="$(grep -n '^| 5X9 |' "$COPY/$MD_DOC" | cut -d: -f1)"
if build "$COPY" "$LOGS/error.log"; then
    fail "a document with an invalid modifier row did not fail the build"
else
    pass "a document with an invalid modifier row fails the build"
fi
if grep -E "$COPY/$MD_DOC:$line:[0-9]+: error: " "$LOGS/error.log" >"$WORK/found"; then
    pass "the build output locates the error: $(head -1 "$WORK/found")"
else
    fail "the build output does not name $MD_DOC:$line with an error"; show "$LOGS/error.log"
fi
cp "$WORK/good.md" "$COPY/$MD_DOC"

cp "$COPY/$TXT_DOC" "$WORK/good.txt"
grep -v '^HCPCS J3301:' "$WORK/good.txt" >"$COPY/$TXT_DOC"
if build "$COPY" "$LOGS/nocode.log"; then
    fail "a document without its billing code did not fail the build"
else
    if grep -E "$COPY/$TXT_DOC(:[0-9]+)*: error: " "$LOGS/nocode.log" >"$WORK/found"; then
        pass "a document without its billing code fails the build: $(head -1 "$WORK/found")"
    else
        fail "no located error for the document without a code"; show "$LOGS/nocode.log"
    fi
fi
cp "$WORK/good.txt" "$COPY/$TXT_DOC"

CONFIG="Sources/Billing/rulebook.json"
cp "$COPY/$CONFIG" "$WORK/good.json"
printf '{ "accessLevel": "internal", "knownPayer": {} }\n' >"$COPY/$CONFIG"
if build "$COPY" "$LOGS/config.log"; then
    fail "a rulebook.json with an unknown key did not fail the build"
elif grep -E "$COPY/$CONFIG(:[0-9]+)*: error: .*knownPayer" "$LOGS/config.log" >"$WORK/found"; then
    pass "a rulebook.json with an unknown key fails the build: $(head -1 "$WORK/found")"
else
    fail "no located error for the bad rulebook.json"; show "$LOGS/config.log"
fi
cp "$WORK/good.json" "$COPY/$CONFIG"

if build "$COPY" "$LOGS/fixed.log"; then
    pass "once the documents are fixed the build succeeds again"
else
    fail "the build still fails after fixing the documents"; show "$LOGS/fixed.log"
fi

# ---------------------------------------------------------------- 5. the command plugin
start=$SECONDS
(cd "$ROOT" && swift package --allow-writing-to-package-directory generate-rules --check) >"$LOGS/check-repo.log" 2>&1
status=$?
echo "      (generate-rules --check in the repository: exit $status, $((SECONDS - start)) s)"
if [ "$status" -eq 0 ]; then
    pass "swift package generate-rules --check: Generated/ is up to date with seeds/"
else
    fail "swift package generate-rules --check on the repository (exit $status)"; show "$LOGS/check-repo.log"
fi

# The command plugin runs the same code path as the CLI: same exit status, byte-identical output.
SAME="$ROOT/.build/test-plugin-same-output"      # inside the package (write permission), git-ignored
rm -rf "$SAME"
(cd "$ROOT" && swift build --product rulebook) >"$LOGS/cli-build.log" 2>&1
CLI="$(cd "$ROOT" && swift build --show-bin-path)/rulebook"
(cd "$ROOT" && "$CLI" generate --output "$SAME/cli") >"$LOGS/cli.log" 2>&1
cli_status=$?
(cd "$ROOT" && swift package --allow-writing-to-package-directory generate-rules --output "$SAME/plugin") >"$LOGS/plugin.log" 2>&1
plugin_status=$?
if [ -x "$CLI" ] && [ -d "$SAME/cli/JSON" ] && diff -r "$SAME/cli" "$SAME/plugin" >"$LOGS/same.diff" 2>&1 \
   && { [ "$cli_status" -eq 0 ] && [ "$plugin_status" -eq 0 ] || { [ "$cli_status" -ne 0 ] && [ "$plugin_status" -ne 0 ]; }; }; then
    pass "generate-rules writes the same bytes as 'rulebook generate' ($(find "$SAME/cli" -type f | wc -l | tr -d ' ') files; exit $cli_status / $plugin_status)"
else
    fail "generate-rules and 'rulebook generate' differ (exit $cli_status / $plugin_status)"; head -20 "$LOGS/same.diff"; show "$LOGS/plugin.log"
fi
rm -rf "$SAME"

package() { (cd "$COPY" && swift package --scratch-path "$SCRATCH" --allow-writing-to-package-directory generate-rules "$@"); }
if package --target Billing >"$LOGS/cmd-target.log" 2>&1 \
   && [ -s "$COPY/Sources/Billing/Generated/JSON/cpt-20610.json" ] \
   && [ -s "$COPY/Sources/Billing/Generated/Swift/RulebookRules.swift" ]; then
    pass "generate-rules --target Billing writes Sources/Billing/Generated/{JSON,Swift}"
else
    fail "generate-rules --target Billing"; show "$LOGS/cmd-target.log"
fi
if package --target Billing --check >"$LOGS/cmd-check.log" 2>&1; then
    pass "generate-rules --target Billing --check passes right after generating"
else
    fail "generate-rules --target Billing --check right after generating"; show "$LOGS/cmd-check.log"
fi
sed -i.orig 's/^| 50 | Bilateral procedure |/| 50 | Bilateral procedure (both sides) |/' "$COPY/$MD_DOC" && rm -f "$COPY/$MD_DOC.orig"
if package --target Billing --check >"$LOGS/cmd-stale.log" 2>&1; then
    fail "generate-rules --check passed although a document changed"
elif grep -q "error: generate-rules" "$LOGS/cmd-stale.log"; then
    pass "generate-rules --check fails once a document changed: $(grep 'error: generate-rules' "$LOGS/cmd-stale.log" | head -1)"
else
    fail "generate-rules --check failed without the plugin's diagnostic"; show "$LOGS/cmd-stale.log"
fi
rm -rf "$COPY/Sources/Billing/Generated"

finish
