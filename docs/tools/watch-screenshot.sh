#!/usr/bin/env bash
# Makes docs/watch.png from a real `ports --watch -l` in a 100x22 tmux terminal: a helper opens
# a loopback listener and closes another while the watch runs, so both marks are on screen.
#
#   docs/tools/watch-screenshot.sh
#
# Needs: tmux, python3, Pillow (python3-pil), fonts-dejavu-core. Only loopback sockets.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/binaries.sh
build_release_binaries
session=ports-shot-$$
capture=$(mktemp)
helper=
cleanup() {
  tmux -L "$session" kill-server 2>/dev/null || true
  rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$session"  # tmux 3.3 leaves its socket file
  [[ -n "$helper" ]] && kill "$helper" 2>/dev/null || true
  rm -f "$capture"
}
trap cleanup EXIT

python3 -c '
import socket, time
old = socket.socket(); old.bind(("127.0.0.1", 0)); old.listen()
time.sleep(3); old.close()
new = socket.socket(); new.bind(("127.0.0.1", 0)); new.listen()
time.sleep(60)' &
helper=$!
tmux -L "$session" new-session -d -x 100 -y 22 "COLORTERM=truecolor $ports --watch -l"
sleep 4.5
tmux -L "$session" capture-pane -e -p >"$capture"
/usr/bin/python3 docs/tools/ansi_png.py "$capture" docs/watch.png
echo "wrote docs/watch.png"
