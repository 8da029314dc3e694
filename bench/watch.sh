#!/usr/bin/env bash
# The CPU a watch uses: user + system seconds over SECONDS (default 60) at 1 Hz, at about 2,000
# and 20,000 loopback sockets, next to running `ports` (and `ss -tuanp`) once a second for as
# long. The live view runs in a tmux terminal; the stream (not a terminal) goes to /dev/null.
#
#   bench/watch.sh [SECONDS]
#
# Needs: tmux, GNU time, iproute2. Run as root. Only loopback sockets are opened.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}

source bench/binaries.sh
build_release_binaries
out=$(mktemp -d)
session=ports-bench-$$
loadgen_pid=
cleanup() {
  tmux -L "$session" kill-server 2>/dev/null || true
  rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$session"  # tmux 3.3 leaves its socket file
  [[ -n "$loadgen_pid" ]] && { kill "$loadgen_pid" 2>/dev/null || true; wait "$loadgen_pid" 2>/dev/null || true; }
  rm -rf "$out"
}
trap cleanup EXIT

# Seconds of CPU (user + system) that a command and its children used.
cpu() { tail -n 1 "$1" | awk '{ printf "%.2f", $1 + $2 }'; }

measure() {
  local name=$1
  /usr/bin/time -f '%U %S' -o "$out/stream" timeout -s INT "$seconds" "$ports" --watch=1 >/dev/null || true
  /usr/bin/time -f '%U %S' -o "$out/loop" bash -c \
    "end=\$((SECONDS + $seconds)); while (( SECONDS < end )); do $ports --color never >/dev/null; sleep 1; done"
  /usr/bin/time -f '%U %S' -o "$out/ss" bash -c \
    "end=\$((SECONDS + $seconds)); while (( SECONDS < end )); do ss -tuanp >/dev/null; sleep 1; done"
  tmux -L "$session" new-session -d -x 120 -y 40 \
    "/usr/bin/time -f '%U %S' -o $out/view $ports --watch=1; sleep 600"
  sleep "$seconds"
  tmux -L "$session" send-keys q
  for _ in $(seq 50); do [[ -s "$out/view" ]] && break; sleep 0.2; done
  tmux -L "$session" kill-server
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$(ss -tuanH | wc -l)" "$(cpu "$out/view")" \
    "$(cpu "$out/stream")" "$(cpu "$out/loop")" "$(cpu "$out/ss")"
}

printf 'population\tsockets\tview_cpu_s\tstream_cpu_s\tports_each_second_cpu_s\tss_each_second_cpu_s\n'
for population in "2000 900 100 100 8" "20000 9800 200 200 8"; do
  read -r name pairs listeners udp procs <<<"$population"
  fifo=$(mktemp -u); mkfifo "$fifo"
  "$loadgen" --pairs "$pairs" --listeners "$listeners" --udp "$udp" --procs "$procs" --seconds 3600 >"$fifo" &
  loadgen_pid=$!
  read -r ready _ <"$fifo"; rm -f "$fifo"
  [[ "$ready" == ready ]] || { echo "loadgen did not start" >&2; exit 1; }
  measure "$name"
  kill "$loadgen_pid"; wait "$loadgen_pid" 2>/dev/null || true
  loadgen_pid=
done
