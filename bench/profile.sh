#!/usr/bin/env bash
# What the release profile buys: builds ports with cargo's default release settings (which
# strip debug info, not symbols) and with this project's (LTO, one codegen unit, symbols
# stripped; panic=abort as the road not taken), then records each binary's size and build time
# and times them side by side with `ss -tuanp` on the same 20,000 loopback sockets, in one
# hyperfine run.
#
#   bench/profile.sh        # writes bench/results/profile.tsv and profile-time.json
#
# Needs: hyperfine, iproute2, python3. Run as root. Only loopback sockets are opened. Each
# variant builds from scratch in its own target directory under target/profile/ (1 to 1.5
# minutes each here).
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/binaries.sh
build_release_binaries
results=bench/results
mkdir -p "$results" target/profile

# name and the CARGO_PROFILE_RELEASE_* overrides that make it.
variants=(
  "default|LTO=false CODEGEN_UNITS=16 STRIP=debuginfo"
  "lto+cgu1|LTO=true CODEGEN_UNITS=1 STRIP=debuginfo"
  "lto+cgu1+strip|LTO=true CODEGEN_UNITS=1 STRIP=symbols"
  "lto+cgu1+strip+abort|LTO=true CODEGEN_UNITS=1 STRIP=symbols PANIC=abort"
)

printf 'variant\tbytes\tbuild_s\n' >"$results/profile.tsv"
commands=()
for entry in "${variants[@]}"; do
  name=${entry%%|*}
  settings=()
  for setting in ${entry#*|}; do settings+=("CARGO_PROFILE_RELEASE_$setting"); done
  rm -rf "target/profile/$name"
  start=$SECONDS
  env "${settings[@]}" CARGO_TARGET_DIR="target/profile/$name" \
    cargo build --release --locked -q -p portscope --bin ports
  binary="target/profile/$name/release/ports"
  printf '%s\t%s\t%s\n' "$name" "$(stat -c %s "$binary")" "$((SECONDS - start))" >>"$results/profile.tsv"
  commands+=(--command-name "ports ($name)" "$binary --color never")
done

loadgen_pid=
fifo=$(mktemp -u)
cleanup() {
  [[ -n "$loadgen_pid" ]] && { kill "$loadgen_pid" 2>/dev/null || true; wait "$loadgen_pid" 2>/dev/null || true; }
  rm -f "$fifo"
}
trap cleanup EXIT
mkfifo "$fifo"
"$loadgen" --pairs 9800 --listeners 200 --udp 200 --procs 8 --seconds 1800 >"$fifo" &
loadgen_pid=$!
read -r ready _ <"$fifo" || true
[[ "$ready" == ready ]] || { echo "loadgen did not start" >&2; exit 1; }

echo "$(ss -tuanH | wc -l) sockets present"
hyperfine -N --output=pipe --warmup 3 --runs 30 --export-json "$results/profile-time.json" \
  "${commands[@]}" --command-name "ss -tuanp" "ss -tuanp" >/dev/null
column -t "$results/profile.tsv"
python3 - "$results/profile-time.json" <<'EOF'
import json, sys
runs = json.load(open(sys.argv[1]))["results"]
ss = next(r["median"] for r in runs if r["command"] == "ss -tuanp")
for r in runs:
    print(f'{r["command"]:32} median {r["median"] * 1000:7.1f} ms  {r["median"] / ss:.3f}x ss')
EOF
