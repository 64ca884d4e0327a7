#!/usr/bin/env bash
# Loads our router and Crossbar side by side in one wamp-bench run (scenario by scenario, so
# both are measured under the same machine load), over RawSocket and WebSocket.
#
#   wamp-bench/compare.sh [wamp-bench options...]     e.g. --scenario rpc,latency --duration 3
#
# Environment:
#   ROUTER_BIN   our router binary (default: target/release/wamp-router; built if missing)
#   CROSSBAR     the crossbar executable (default: the interop tests' venv,
#                target/tmp/interop/venv/bin/crossbar; run `cargo test -p wamp-tests --test it
#                interop` once to install it)
#   BENCH_BIN    the bench (default: target/release/wamp-bench; built if missing)
#   PORT_BASE    first of the three loopback ports used (default 18000)
#   TRANSPORTS   "rs ws" (default), or one of them
#   PIN=1        pin each router to core 1 and the bench to core 0 (taskset)
#
# Our router routes on one task (one core at a time), its connection IO on the runtime's
# workers.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
ROUTER_BIN="${ROUTER_BIN:-$root/target/release/wamp-router}"
BENCH_BIN="${BENCH_BIN:-$root/target/release/wamp-bench}"
CROSSBAR="${CROSSBAR:-$root/target/tmp/interop/venv/bin/crossbar}"
PORT_BASE="${PORT_BASE:-18000}"
TRANSPORTS="${TRANSPORTS:-rs ws}"

[ -x "$BENCH_BIN" ] || cargo build --release -p wamp-bench
[ -x "$ROUTER_BIN" ] || cargo build --release -p wamp-tokio --bin wamp-router
[ -x "$CROSSBAR" ] || { echo "crossbar not found at $CROSSBAR" >&2; exit 2; }

ours=$PORT_BASE cb_ws=$((PORT_BASE + 1)) cb_rs=$((PORT_BASE + 2))
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_port() { # port, seconds
  for _ in $(seq 1 $(($2 * 10))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

pin_cmd() { # core: the pinning command prefix when PIN=1
  if [ "${PIN:-0}" = 1 ] && command -v taskset >/dev/null; then echo "taskset -c $1"; fi
}

# Our router: WebSocket (/ws and /) and RawSocket on one port, realm1 open to anonymous.
(exec $(pin_cmd 1) "$ROUTER_BIN" --listen "127.0.0.1:$ours" --realm realm1 --log warn) >"$work/router.log" 2>&1 &
pids+=($!)
ours_pid=$!

# Crossbar: the same realm and transports.
mkdir -p "$work/cb/.crossbar"
cat >"$work/cb/.crossbar/config.json" <<EOF
{"version": 2, "controller": {}, "workers": [{"type": "router",
 "realms": [{"name": "realm1", "roles": [{"name": "anonymous", "permissions": [{"uri": "",
   "match": "prefix", "allow": {"call": true, "register": true, "publish": true,
   "subscribe": true}, "disclose": {"caller": false, "publisher": false}, "cache": true}]}]}],
 "transports": [
  {"type": "websocket", "endpoint": {"type": "tcp", "port": $cb_ws, "interface": "127.0.0.1"},
   "serializers": ["json", "msgpack", "cbor", "ubjson"]},
  {"type": "rawsocket", "endpoint": {"type": "tcp", "port": $cb_rs, "interface": "127.0.0.1"},
   "serializers": ["json", "msgpack", "cbor", "ubjson"]}]}]}
EOF
(cd "$work/cb" && exec $(pin_cmd 1) "$CROSSBAR" start --cbdir "$work/cb/.crossbar") >"$work/cb.log" 2>&1 &
pids+=($!)
cb_pid=$!

wait_port "$ours" 30 || { cat "$work/router.log" >&2; exit 1; }
wait_port "$cb_ws" 120 && wait_port "$cb_rs" 60 || { tail -40 "$work/cb.log" >&2; exit 1; }

args=()
for t in $TRANSPORTS; do
  case $t in
    rs) args+=(--url "rs://127.0.0.1:$ours" --label ours-rs --router-pid "$ours_pid"
               --url "rs://127.0.0.1:$cb_rs" --label crossbar-rs --router-pid "$cb_pid") ;;
    ws) args+=(--url "ws://127.0.0.1:$ours/ws" --label ours-ws --router-pid "$ours_pid"
               --url "ws://127.0.0.1:$cb_ws/" --label crossbar-ws --router-pid "$cb_pid") ;;
    *) echo "unknown transport $t" >&2; exit 2 ;;
  esac
done
$(pin_cmd 0) "$BENCH_BIN" "${args[@]}" "$@"
