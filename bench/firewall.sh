#!/usr/bin/env bash
# The cost of `--firewall` (issue 28): `ports -l` with and without it, beside `ss -tulnp`, in a
# scratch network namespace holding 100 listeners and, in turn, no ruleset (what a port query
# adds as root: the card reads the firewall unasked), ufw's ruleset (iptables-nft, 183 rules,
# translated by iptables-nft-save), firewalld's (native nftables) and 5,000 rules with a
# 2,000-element set. hyperfine runs inside the namespace, so every command pays the same. The
# namespace and its holder are removed on exit; the host's ruleset is never touched.
#
#   bench/firewall.sh [--smoke]     # prints hyperfine's table per ruleset
set -euo pipefail
cd "$(dirname "$0")/.."
runs=30
[[ "${1:-}" == "--smoke" ]] && runs=3
source bench/binaries.sh
build_release_binaries
fixtures=tests/fixtures/firewall

ns="ports-fwbench-$$"
holder=
cleanup() {
  [[ -n "$holder" ]] && kill "$holder" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add fwt-h type veth peer name fwt-p
ip -n "$ns" link set fwt-p up
ip -n "$ns" addr add 10.213.0.1/30 dev fwt-h
ip -n "$ns" link set fwt-h up

fifo=$(mktemp -u); mkfifo "$fifo"
ip netns exec "$ns" python3 -c '
import socket, time
held = []
for port in range(20000, 20100):
    s = socket.socket(); s.bind(("0.0.0.0", port)); s.listen(); held.append(s)
print("ready", flush=True); time.sleep(3600)' >"$fifo" &
holder=$!
read -r ready <"$fifo"; rm -f "$fifo"
[[ "$ready" == ready ]] || { echo "the listeners did not start" >&2; exit 1; }

in_ns() { ip netns exec "$ns" "$@"; }
load() {
  in_ns nft flush ruleset
  case "$1" in
    ufw) in_ns iptables-nft-restore "$fixtures/ufw.v4.save"
         in_ns ip6tables-nft-restore "$fixtures/ufw.v6.save" ;;
    firewalld) in_ns nft -f "$fixtures/fwd.nft" ;;
    big) in_ns nft -f "$fixtures/big.nft" ;;
  esac
}

for ruleset in none ufw firewalld big; do
  load "$ruleset"
  rules=$(in_ns nft -a list ruleset | grep -c 'handle [0-9]*$' || true)
  echo "== $ruleset: $rules rules and chains (nft -a), 100 listeners"
  in_ns hyperfine -N --warmup 2 --runs "$runs" --style basic \
    --command-name "ports -l" "$ports -l --color never" \
    --command-name "ports -l --firewall" "$ports -l --firewall --color never" \
    --command-name "nft -j list ruleset" "/usr/sbin/nft -j list ruleset" \
    --command-name "ss -tulnp" "ss -tulnp"
  for command in "$ports -l --color never" "$ports -l --firewall --color never"; do
    kib=$(in_ns /usr/bin/time -f %M $command 2>&1 >/dev/null | tail -n 1)
    echo "peak RSS of ${command#"$ports "}: $kib KiB"
  done
done
