# Sourced by the benchmark scripts: builds the release binaries and sets $ports and $loadgen to
# the files cargo just wrote. Asking cargo, not assuming ./target, keeps CARGO_TARGET_DIR and
# a stale ./target from timing the wrong binary.
build_release_binaries() {
  local paths
  paths=$(cargo build --release --locked -p portscope -p loadgen --message-format=json-render-diagnostics |
    python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable"):
        print(message["target"]["name"], message["executable"])')
  ports=$(awk '$1 == "ports" { print $2 }' <<<"$paths")
  loadgen=$(awk '$1 == "loadgen" { print $2 }' <<<"$paths")
  [[ -x "$ports" && -x "$loadgen" ]] || { echo "cargo built no ports or loadgen binary" >&2; exit 1; }
}
