#!/usr/bin/env bash
# Times the release `rulebook extract` on pathological documents at two sizes, N and 10N, and
# prints the ratio: linear work gives ~10x (a quadratic algorithm would give ~100x).
#
#   Scripts/pathological.sh [CASE...]      all cases by default (see Tests/Fixtures/pathological/generate.py --list)
#
# Environment: PATHOLOGICAL_SCALE (multiplies every N, default 1), PATHOLOGICAL_TIMEOUT (seconds a run may take,
# default 120), RULEBOOK (a prebuilt binary; default: swift build -c release).
# Times are CPU seconds (user+sys) of the child process, which is fairer than wall time on a shared
# machine; wall time and peak memory are printed too. Each run is also checked: it must exit 0 or 1
# (never a crash or a signal).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${RULEBOOK:-}" ]]; then
  swift build -c release --product rulebook >&2
  RULEBOOK="$(swift build -c release --show-bin-path)/rulebook"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$RULEBOOK" "$work" "$@" <<'PY'
import os, subprocess, sys, time
sys.path.insert(0, "Tests/Fixtures/pathological")
import generate

rulebook, work, selected = sys.argv[1], sys.argv[2], sys.argv[3:]
scale = float(os.environ.get("PATHOLOGICAL_SCALE", "1"))
timeout = float(os.environ.get("PATHOLOGICAL_TIMEOUT", "120"))

def run(path):
    start = time.monotonic()
    with open(os.devnull, "wb") as null:
        process = subprocess.Popen([rulebook, "extract", path], stdout=null, stderr=null)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                return None, time.monotonic() - start, usage.ru_maxrss / 1024, "TIMEOUT"
            time.sleep(0.005)
    wall = time.monotonic() - start
    cpu = usage.ru_utime + usage.ru_stime
    if os.WIFSIGNALED(status):
        outcome = "SIGNAL %d" % os.WTERMSIG(status)
    else:
        code = os.WEXITSTATUS(status)
        outcome = "exit %d" % code if code in (0, 1) else "BAD EXIT %d" % code
    return cpu, wall, usage.ru_maxrss / 1024, outcome

cases = [name for name in generate.CASES if not selected or name in selected]
failures = 0
print("%-18s %-4s %10s %10s %8s %8s %8s %7s %7s  %s" % ("case", "ext", "N", "bytes 10N", "cpu N", "cpu 10N", "ratio", "wall10N", "MB 10N", "outcome"))
for name in cases:
    generator, n = generate.CASES[name]
    n = max(1, int(n * scale))
    for ext in ("md", "txt"):
        results = []
        for size in (n, 10 * n):
            path = os.path.join(work, "%s-%d.%s" % (name, size, ext))
            with open(path, "wb") as f:
                data = generator(size)
                f.write(data)
            results.append((len(data),) + run(path))
            os.remove(path)
        (bytes_n, cpu_n, wall_n, mb_n, out_n), (bytes_10n, cpu_10n, wall_10n, mb_10n, out_10n) = results
        bad = [o for o in (out_n, out_10n) if not o.startswith("exit")]
        failures += bool(bad)
        if cpu_n is None or cpu_10n is None:
            ratio = "-"
        else:
            ratio = "%.1fx" % (cpu_10n / cpu_n) if cpu_n >= 0.005 else "(<5ms)"
        fmt = lambda t: "-" if t is None else "%.3f" % t
        print("%-18s %-4s %10d %10d %8s %8s %8s %7.2f %7.0f  %s" % (
            name, ext, n, bytes_10n, fmt(cpu_n), fmt(cpu_10n), ratio, wall_10n, mb_10n,
            ", ".join(bad) if bad else out_10n), flush=True)
sys.exit(1 if failures else 0)
PY
