#!/usr/bin/env bash
# Crash safety of `rulebook generate`: SIGKILL it at random moments and check the output folder.
#
#   Scripts/kill-test.sh [KILLS] [DOCUMENTS]        defaults: 50 kills, 2000 documents
#
# Two corpora A and B of DOCUMENTS documents each (made from seeds/: every document gets its own code;
# B changes the text of half of them, drops 50 of A's codes and adds 50 new ones) are compiled once
# to reference outputs. Then one output folder is regenerated alternately from A and from B, and each
# run is killed with SIGKILL after a random delay spread over a whole run (every fifth kill is timed
# to land while the writer is renaming files into place). After every kill, each file in the folder must be
# byte-identical to the same file of reference A or of reference B (never truncated, never mixed), and
# the manifest must be readable. Every tenth kill, and at the end, a run to completion must reproduce
# the reference exactly (nothing extra, no temporary file left) and `generate --check` must exit 0.
#
# Environment: RULEBOOK (the binary; default .build/debug/rulebook, built if missing), KILL_TEST_SEED.
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-50}
documents=${2:-2000}
rulebook=${RULEBOOK:-.build/debug/rulebook}
if [[ ! -x "$rulebook" ]]; then swift build --product rulebook >&2; fi
rulebook=$(cd "$(dirname "$rulebook")" && pwd)/$(basename "$rulebook")
work=$(mktemp -d)
[[ -n "${KILL_TEST_KEEP:-}" ]] && echo "kill-test: keeping $work" >&2 || trap 'rm -rf "$work"' EXIT

python3 - "$rulebook" "$work" "$kills" "$documents" <<'PY'
import glob, hashlib, json, os, random, re, signal, subprocess, sys, time

rulebook, work, kills, documents = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(int(os.environ.get("KILL_TEST_SEED", "7")))
TMP = ".rulebook-tmp-"
MANIFEST = ".rulebook-manifest.json"

# --- Corpora -------------------------------------------------------------------------------------
templates = []
for path in sorted(glob.glob("seeds/*")):
    text = open(path, encoding="utf-8").read()
    m = re.search(r"^code:\s*(\S+)", text, re.M) or \
        re.search(r"^[#*\s]*(?:CPT|HCPCS)(?:®)?\s+(?:Level II\s+)?(?:[Cc]ode\s+)?([A-Z0-9]{5})\b", text, re.M)
    templates.append((os.path.splitext(path)[1], m.group(1), text))

def code_for(i, template_code):
    if template_code[0].isalpha():
        return template_code[0] + "%04d" % (i % 10000)       # HCPCS: same letter, 4 digits
    if template_code.endswith("T"):
        return "%04dT" % (i % 10000)                          # CPT Category III
    return "%05d" % (10000 + i)                               # CPT Category I

def document(i, variant):
    ext, template_code, text = templates[i % len(templates)]
    code = code_for(i, template_code)
    text = text.replace(template_code, code)
    # Drop the one seed example row the claim parser rejects, so the corpus compiles without errors
    # and `generate` / `--check` exit 0 exactly when the output is right.
    text = "".join(line for line in text.splitlines(True) if "-JW-Z" not in line)
    if variant == "B" and i % 2 == 0:
        text = text.rstrip("\n") + "\n\nRevised in corpus B: document %d now says something else.\n" % i
    return "%05d_%s%s" % (i, code.lower(), ext), text

def make_corpus(variant, indices):
    folder = os.path.join(work, "run" + variant, "docs")
    os.makedirs(folder)
    for i in indices:
        name, text = document(i, variant)
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write(text)
    return os.path.dirname(folder)

runs = {"A": make_corpus("A", range(documents)), "B": make_corpus("B", range(50, documents + 50))}
out = os.path.join(work, "out")

def generate(variant, output, extra=()):
    return subprocess.Popen([rulebook, "generate", "--input", "docs", "--output", output, *extra],
                            cwd=runs[variant], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def snapshot(folder):
    files = {}
    for root, dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, folder)] = f.read()
    return files

# --- References ----------------------------------------------------------------------------------
references, durations = {}, {}
for variant in "AB":
    start = time.monotonic()
    status = generate(variant, os.path.join(work, "ref" + variant)).wait()
    durations[variant] = time.monotonic() - start
    references[variant] = snapshot(os.path.join(work, "ref" + variant))
    if status != 0:
        sys.exit("kill-test: reference run %s exited %d (the corpus should compile without errors)" % (variant, status))
A, B = references["A"], references["B"]
shared = [p for p in A if p in B and p != MANIFEST]
differing = sum(1 for p in shared if A[p] != B[p])
print("kill-test: %d documents; reference A %d files (%.2fs), B %d files (%.2fs); %d files in both, %d of them differ"
      % (documents, len(A), durations["A"], len(B), durations["B"], len(shared), differing), flush=True)
if differing == 0:
    print("kill-test: warning: A and B give identical bytes for every shared file (are the emitters stubs?)", flush=True)

def verify_after_kill(iteration):
    """Every file is complete A or complete B; returns (temporary files, files from A only-version, from B)."""
    temporary, from_a, from_b = 0, 0, 0
    for path, data in snapshot(out).items():
        name = os.path.basename(path)
        if name.startswith(TMP):
            temporary += 1
            continue
        if name == MANIFEST:
            json.loads(data)  # the manifest is always complete JSON (intent or final)
            continue
        a, b = A.get(path), B.get(path)
        if data != a and data != b:
            kind = "truncated" if any(ref is not None and ref.startswith(data) for ref in (a, b)) else "unknown"
            sys.exit("kill-test: after kill %d, %s is neither reference A nor B (%s, %d bytes)" % (iteration, path, kind, len(data)))
        if a != b:
            from_a += data == a
            from_b += data == b
    return temporary, from_a, from_b

def verify_complete(variant, label):
    status = generate(variant, out).wait()
    if status != 0:
        sys.exit("kill-test: %s: the repairing run exited %d" % (label, status))
    got, want = snapshot(out), references[variant]
    if got != want:
        extra = sorted(set(got) - set(want))[:5]
        missing = sorted(set(want) - set(got))[:5]
        changed = sorted(p for p in set(got) & set(want) if got[p] != want[p])[:5]
        sys.exit("kill-test: %s: output differs from reference %s (extra %s, missing %s, changed %s)"
                 % (label, variant, extra, missing, changed))
    check = generate(variant, out, ["--check"]).wait()
    if check != 0:
        sys.exit("kill-test: %s: generate --check exited %d after a clean run" % (label, check))

def wait_for_renames(process, folder, deadline):
    """Sleeps until the writer starts renaming (the intent manifest or a changed output appears), or deadline."""
    try:
        before = os.stat(os.path.join(folder, MANIFEST)).st_mtime_ns
    except FileNotFoundError:
        before = None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            now = os.stat(os.path.join(folder, MANIFEST)).st_mtime_ns
        except FileNotFoundError:
            now = None
        if now != before:
            return True
        time.sleep(0.0005)
    return False

generate("A", out).wait()
current = "A"
mixed = with_temporary = finished_before_kill = 0
started = time.monotonic()
for iteration in range(1, kills + 1):
    target = "B" if current == "A" else "A"
    process = generate(target, out)
    total = durations[target]
    if iteration % 5 == 0:
        # Aim at the rename phase: wait for the intent manifest, then a short random delay.
        wait_for_renames(process, out, time.monotonic() + 3 * total)
        time.sleep(rng.uniform(0, 0.02))
    else:
        time.sleep(rng.uniform(0, 1.1 * total))
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    else:
        finished_before_kill += 1
    process.wait()
    temporary, from_a, from_b = verify_after_kill(iteration)
    with_temporary += temporary > 0
    mixed += from_a > 0 and from_b > 0
    current = target
    if iteration % 10 == 0 or iteration == kills:
        verify_complete(target, "after kill %d" % iteration)
print("kill-test: %d kills in %.1fs: %d left temporary files, %d left a mix of complete A and B files, "
      "%d runs finished before their kill; every file was complete A or complete B; %d repairing runs "
      "reproduced the reference and passed --check"
      % (kills, time.monotonic() - started, with_temporary, mixed, finished_before_kill, (kills + 9) // 10), flush=True)

# --- Small edits (the splice path) ---------------------------------------------------------------
# One corpus edited in place, one to three documents at a time (a paragraph appended): the usual
# incremental run, which edits the manifest, the bundles and the Swift shards in place. Each run is
# killed at a random moment; every file must then be the complete file of the state before the edit
# or of the state after it, and a run to completion must give the new state's reference exactly.
import shutil
splice_root = os.path.join(work, "runS")
shutil.copytree(os.path.join(runs["A"], "docs"), os.path.join(splice_root, "docs"))
runs["S"] = splice_root
splice_out = os.path.join(work, "outS")
time.sleep(2.1)  # documents changed less than two seconds before a run are read again by later runs
generate("S", splice_out).wait()
before_state = snapshot(splice_out)
# (Markdown documents only: a scraped one may end in a cut-off table, which a paragraph would extend.)
names = sorted(n for n in os.listdir(os.path.join(splice_root, "docs")) if n.endswith(".md"))
splice_kills = max(5, kills // 5)
spliced_runs = 0
for iteration in range(1, splice_kills + 1):
    for name in rng.sample(names, rng.randint(1, 3)):
        with open(os.path.join(splice_root, "docs", name), "a", encoding="utf-8") as f:
            f.write("\n\nEdit %d of the kill test appends this paragraph.\n" % iteration)
    reference_folder = os.path.join(work, "refS%d" % iteration)
    if generate("S", reference_folder).wait() != 0:
        sys.exit("kill-test: splice reference %d failed" % iteration)
    after_state = snapshot(reference_folder)
    shutil.rmtree(reference_folder)
    start = time.monotonic()
    probe = generate("S", os.path.join(work, "probeS"))  # a full run's length, for the kill delay
    probe.wait()
    shutil.rmtree(os.path.join(work, "probeS"))
    process = generate("S", splice_out)
    time.sleep(rng.uniform(0, 0.15 * (time.monotonic() - start)))
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    else:
        spliced_runs += 1
    process.wait()
    for path, data in snapshot(splice_out).items():
        name = os.path.basename(path)
        if name.startswith(TMP):
            continue
        if name == MANIFEST:
            json.loads(data)
            continue
        if data != before_state.get(path) and data != after_state.get(path):
            sys.exit("kill-test: small edit %d: %s is neither the state before nor after the edit" % (iteration, path))
    if generate("S", splice_out).wait() != 0:
        sys.exit("kill-test: small edit %d: the repairing run failed" % iteration)
    if snapshot(splice_out) != after_state:
        sys.exit("kill-test: small edit %d: the repairing run differs from the reference" % iteration)
    if generate("S", splice_out, ["--check"]).wait() != 0:
        sys.exit("kill-test: small edit %d: --check failed after the repairing run" % iteration)
    before_state = after_state
print("kill-test: %d small edits, each run killed at a random moment (%d finished first): every file was complete before "
      "or after the edit; each repairing run reproduced the reference and passed --check" % (splice_kills, spliced_runs), flush=True)
PY
