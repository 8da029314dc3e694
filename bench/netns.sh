#!/usr/bin/env bash
# The cost of `ports -N` (issue 18): 50 network namespaces, each with a listener and an
# established pair on its loopback, timed beside host-only `ports` and the loop people use
# today (`ip netns exec NS ss -tuanp` for each). Creates the namespaces and removes them, with
# their holders, on exit. Loopback traffic only, inside namespaces it made.
#
#   bench/netns.sh [COUNT]      # default 50; prints the timings and the per-namespace cost
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-50}
source bench/binaries.sh
build_release_binaries

prefix="ports-bench-$$"
cleanup() {
  for i in $(seq "$count"); do
    ip netns pids "$prefix-$i" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$prefix-$i" 2>/dev/null || true
  done
}
trap cleanup EXIT

hold='import socket,time
s=socket.socket();s.bind(("127.0.0.1",8080));s.listen()
c=socket.create_connection(("127.0.0.1",8080));a=s.accept()
print("ready",flush=True);time.sleep(3600)'
for i in $(seq "$count"); do
  ip netns add "$prefix-$i"
  ip -n "$prefix-$i" link set lo up
  ip netns exec "$prefix-$i" python3 -c "$hold" | head -1 >/dev/null &
done
wait_for=$((count))
until [[ $(ip netns list | grep -c "^$prefix-") -ge $wait_for ]]; do sleep 0.1; done
sleep 2

loop="for ns in \$(ip netns list | awk '/^$prefix-/{print \$1}'); do ip netns exec \$ns ss -tuanp; done >/dev/null"
hyperfine -N --output=pipe --warmup 2 --runs 15 --export-json /tmp/ports-netns.json \
  -n "ports (host only)" "$ports --color never" \
  -n "ports -N" "$ports -N --color never" \
  -n "ports -N -t -4" "$ports -N -t -4 --color never" >/dev/null
hyperfine --output=pipe --warmup 1 --runs 5 --export-json /tmp/ports-netns-loop.json \
  -n "ip netns exec loop" "$loop" >/dev/null
python3 - "$count" <<'PY'
import json, sys
n = int(sys.argv[1])
r = {x["command"]: x["mean"] * 1000 for f in ("/tmp/ports-netns.json", "/tmp/ports-netns-loop.json")
     for x in json.load(open(f))["results"]}
for k, v in r.items():
    print(f"| `{k}` | {v:.1f} ms |")
host, all_ns, loop = r["ports (host only)"], r["ports -N"], r["ip netns exec loop"]
print(f"per namespace: {(all_ns - host) / n:.2f} ms; -N / loop: {all_ns / loop:.3f}")
print(f"per namespace (-N -t -4): {(r['ports -N -t -4'] - host) / n:.2f} ms")
PY
