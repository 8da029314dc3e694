#!/usr/bin/env bash
# Makes docs/table.png, the README's picture of the coloured table: real servers from Debian's
# packages (nginx, redis, memcached, dnsmasq) and a Python web server with a client, then
# `ports -l` and `ports 8080` typed into bash in a 100x26 tmux terminal, captured with colours.
#
#   docs/tools/table-screenshot.sh
#
# Needs: tmux, nginx, redis-server, memcached, dnsmasq, python3, Pillow (python3-pil),
# fonts-dejavu-core; ports 8000, 8080, 6379, 11211 and 5353 free. Run as root. Everything binds
# loopback except nginx, which listens on all interfaces to show that exposure; the only
# traffic is the client's, to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/binaries.sh
build_release_binaries
session=ports-shot-$$
scratch=$(mktemp -d)
pids=()
cleanup() {
  tmux -L "$session" kill-server 2>/dev/null || true
  rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$session"  # tmux 3.3 leaves its socket file
  [[ -f "$scratch/nginx.pid" ]] && kill "$(cat "$scratch/nginx.pid")" 2>/dev/null || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

for port in 8000 8080 6379 11211 5353; do
  if ss -tulnH "sport = :$port" | grep -q .; then echo "port $port is in use" >&2; exit 1; fi
done

cat >"$scratch/nginx.conf" <<EOF
worker_processes 2;
pid $scratch/nginx.pid;
error_log $scratch/error.log;
events {}
http { access_log off; server { listen 8080; root $scratch; } }
EOF
nginx -c "$scratch/nginx.conf"
redis-server --bind 127.0.0.1 --port 6379 --save '' --dir "$scratch" >/dev/null & pids+=($!)
memcached -l 127.0.0.1 -p 11211 -u memcache & pids+=($!)
dnsmasq --keep-in-foreground --no-resolv --no-hosts --port=5353 --listen-address=127.0.0.1 \
  --bind-interfaces --user=nobody --pid-file="$scratch/dnsmasq.pid" & pids+=($!)
python3 -m http.server --bind 127.0.0.1 8000 --directory "$scratch" >/dev/null 2>&1 & pids+=($!)
sleep 1
python3 -c '
import socket, time
client = socket.create_connection(("127.0.0.1", 6379))
time.sleep(60)' & pids+=($!)
sleep 1

tmux -L "$session" new-session -d -x 100 -y 26 \
  "env -i PATH=$(dirname "$ports"):/usr/sbin:/usr/bin TERM=xterm-256color PS1='\$ ' bash --norc"
tmux -L "$session" send-keys "clear" Enter
sleep 0.5
tmux -L "$session" send-keys "ports -l" Enter
sleep 1.5
tmux -L "$session" send-keys "ports 8080" Enter
sleep 1.5
# Without the empty rows below the last prompt.
tmux -L "$session" capture-pane -e -p | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$scratch/capture"
/usr/bin/python3 docs/tools/ansi_png.py "$scratch/capture" docs/table.png
echo "wrote docs/table.png"
