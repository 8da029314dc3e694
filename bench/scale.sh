#!/usr/bin/env bash
# Scale check (issue 11): 100,000 loopback sockets held by 50 processes. ports must complete,
# report every socket and the same owner for each as `ss -tuanp`, within bounded memory.
#
#   bench/scale.sh [SOCKETS] [PROCESSES]     # defaults: 100000 50
set -euo pipefail
cd "$(dirname "$0")/.."
sockets=${1:-100000}
procs=${2:-50}
pairs=$(( (sockets - 1000) / 2 ))

source bench/binaries.sh
build_release_binaries
fifo=$(mktemp -u); mkfifo "$fifo"
"$loadgen" --pairs "$pairs" --listeners 500 --udp 500 --procs "$procs" --seconds 900 >"$fifo" &
load=$!
trap 'kill $load 2>/dev/null || true; wait $load 2>/dev/null || true' EXIT
read -r ready _ pids <"$fifo"; rm -f "$fifo"
[[ "$ready" == ready ]] || { echo "loadgen did not start" >&2; exit 1; }

out=$(mktemp -d)
/usr/bin/time -f '%M %e' -o "$out/ports.time" "$ports" --json >"$out/ports.json"
/usr/bin/time -f '%M %e' -o "$out/ss.time" ss -tuanp >"$out/ss.txt"
python3 - "$out" $pids <<'PY'
import collections, json, re, sys
out, pids = sys.argv[1], sys.argv[2:]
sockets = json.load(open(f"{out}/ports.json"))
ss_lines = open(f"{out}/ss.txt").read().splitlines()[1:]
ours, theirs = collections.Counter(), collections.Counter()
for s in sockets:
    for p in s["processes"]:
        ours[str(p["pid"])] += 1
for line in ss_lines:
    for pid in set(re.findall(r"pid=(\d+),", line)):
        theirs[pid] += 1
wrong = [p for p in pids if ours[p] != theirs[p]]
rss, secs = open(f"{out}/ports.time").read().split()
ss_rss, ss_secs = open(f"{out}/ss.time").read().split()
print(f"sockets: ports {len(sockets)}, ss {len(ss_lines)}")
print(f"owning processes checked: {len(pids)}; sockets they hold: ports {sum(ours[p] for p in pids)}, ss {sum(theirs[p] for p in pids)}")
print(f"ports: {secs} s, peak RSS {int(rss)/1024:.1f} MiB; ss -tuanp: {ss_secs} s, peak RSS {int(ss_rss)/1024:.1f} MiB")
if wrong or abs(len(sockets) - len(ss_lines)) > 10:
    sys.exit(f"MISMATCH: per-process counts differ for {wrong[:5]}")
print("OK: every worker's socket count matches ss -tuanp")
PY
