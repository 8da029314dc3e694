#!/usr/bin/env bash
# Times ports against ss, netstat and lsof on the same loopback sockets, in one run, at several
# socket populations, and records each command's peak RSS. Writes bench/results/ and, unless
# --smoke, the table, plot and machine of docs/performance.md.
#
#   bench/run.sh            # populations of about 100, 2,000, 20,000 and 100,000 sockets
#   bench/run.sh --smoke    # about 100 sockets, few runs: checks the benchmark works (CI)
#
# Needs: hyperfine, iproute2 (ss), net-tools (netstat), lsof, GNU time, python3, gnuplot.
# Run as root, so that every tool sees every owner. Only loopback sockets are opened.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=false
[[ "${1:-}" == "--smoke" ]] && smoke=true

# name pairs listeners udp procs unix: about 2*pairs + listeners + udp TCP/UDP sockets, and
# `unix` Unix sockets beside them (for ports -x against ss -xp).
populations=(
  "100 40 10 10 4 100"
  "2000 900 100 100 8 2000"
  "20000 9800 200 200 8 5000"
  "100000 49600 400 400 8 5000"
)
$smoke && populations=("${populations[0]}")

source bench/binaries.sh
build_release_binaries
results=bench/results
mkdir -p "$results"
rm -f "$results"/*.json "$results"/*.tsv

loadgen_pid=
stop_load() {
  if [[ -n "$loadgen_pid" ]]; then
    kill "$loadgen_pid" 2>/dev/null || true
    wait "$loadgen_pid" 2>/dev/null || true  # 143: it died of our SIGTERM, as asked
  fi
  loadgen_pid=
}
trap stop_load EXIT

for population in "${populations[@]}"; do
  read -r name pairs listeners udp procs unix <<<"$population"
  fifo=$(mktemp -u); mkfifo "$fifo"
  "$loadgen" --pairs "$pairs" --listeners "$listeners" --udp "$udp" --procs "$procs" --unix "$unix" --seconds 1800 >"$fifo" &
  loadgen_pid=$!
  read -r ready port _ <"$fifo"; rm -f "$fifo"
  [[ "$ready" == ready ]] || { echo "loadgen did not start" >&2; exit 1; }

  # Count what is really there: other processes' sockets and TIME-WAIT leftovers included.
  sockets=$(ss -tuanH | wc -l)
  unix_sockets=$(ss -xaH | wc -l)
  time_wait=$(ss -tanH state time-wait | wc -l)
  echo "== population $name: $sockets sockets present ($time_wait in TIME-WAIT), $unix_sockets Unix sockets, query port $port"

  runs=$([[ $name -ge 100000 ]] && echo 5 || echo 20)
  $smoke && runs=3
  commands=(
    "ports|$ports --color never"
    "ports --color always|$ports --color always"
    "ports --json|$ports --json"
    "ss -tuanp|ss -tuanp"
    "netstat -tuanp|netstat -tuanp"
    "lsof -i -nP|lsof -i -nP"
    "ports -l|$ports -l --color never"
    "ss -tulnp|ss -tulnp"
    "ports PORT|$ports $port --color never"
    "ports -l PORT|$ports -l $port --color never"
    "ports --json PORT|$ports --json $port"
    "ss -tanp sport|ss -tanp 'sport = :$port'"
    "lsof -nP -i :PORT|lsof -nP -i :$port"
    "ports -x|$ports -x --color never"
    "ss -xap|ss -xap"
    "ports --tcp-info|$ports --tcp-info --color never"
    "ss -tuanpi|ss -tuanpi"
  )
  # Each entry is "name|command".
  args=()
  for entry in "${commands[@]}"; do args+=(--command-name "${entry%%|*}" "${entry#*|}"); done
  hyperfine -N --output=pipe --warmup 2 --runs "$runs" --ignore-failure \
    --export-json "$results/time-$name.json" "${args[@]}" >/dev/null

  # Peak RSS (KiB) of each command: the largest of three runs.
  for entry in "${commands[@]}"; do
    peak=0
    for _ in 1 2 3; do
      kib=$(eval "/usr/bin/time -f %M ${entry#*|}" 2>&1 >/dev/null | tail -n 1)
      (( kib > peak )) && peak=$kib
    done
    printf '%s\t%s\t%s\t%s\n' "$name" "$sockets" "${entry%%|*}" "$peak" >>"$results/rss.tsv"
  done
  printf '%s\t%s\t%s\t%s\n' "$name" "$sockets" "$time_wait" "$unix_sockets" >>"$results/populations.tsv"
  stop_load
done

python3 bench/report.py "$results" $($smoke && echo --smoke)
