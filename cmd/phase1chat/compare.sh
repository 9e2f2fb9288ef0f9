#!/usr/bin/env bash
# Side by side, in one run, with one load client and the same flags:
#   1. the platform's phase-1 chat stack: redis-server (one Pub/Sub) and
#      4 phase1chat servers (gorilla/websocket), one process each;
#   2. relaymesh: `relaymesh dev --wan=false` (4 nodes, one per region).
# Prints both reports, the ratio of their delivery p50/p99 and the CPU and
# peak RSS of each stack's server processes during the bench.
#
# usage: [SERVERS=4] [DEV_FLAGS=...] cmd/phase1chat/compare.sh [FANS] [ROOMS] [RATE] [DURATION] [-- EXTRA BENCH FLAGS]
#   e.g. cmd/phase1chat/compare.sh 1000 10 100 20s
#        cmd/phase1chat/compare.sh 10000 10 100 30s -- --warmup 10s
# SERVERS is the number of phase-1 server processes; DEV_FLAGS are added to
# `relaymesh dev` (e.g. '--processes --per-region 2' where dev has it: past
# 20,000 fans one process cannot hold them all).
#
# Needs redis-server on PATH (bash .ci/redis.sh installs Debian's). Every
# process it starts is stopped on exit, ctrl-C included; the bench bounds
# itself (ramp, warmup, duration, drain) and runs under `timeout`.
set -euo pipefail

FANS=${1:-1000}
ROOMS=${2:-10}
RATE=${3:-100}
DURATION=${4:-20s}
shift $(($# < 4 ? $# : 4))
[ "${1:-}" = "--" ] && shift
EXTRA=("$@")
SERVERS=${SERVERS:-4} # phase-1 server processes; each holds FANS/SERVERS sockets, under its 20,000 open files
read -r -a DEV_EXTRA <<<"${DEV_FLAGS:-}"

cd "$(dirname "$0")/../.."
command -v redis-server >/dev/null || { echo "compare: redis-server not found (bash .ci/redis.sh)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/relaymesh-compare.XXXXXX")
pids=()
stop_all() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 100); do # up to 10 s for graceful exits
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
cleanup() { stop_all; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port prints a TCP port below the ephemeral range that nothing
# listens on (a connect to it fails).
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 10000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "compare: no free port" >&2; return 1
}

# wait_for CMD... polls CMD every 0.1 s for up to 60 s.
wait_for() {
  for _ in $(seq 600); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "compare: timed out waiting for: $*" >&2; return 1
}

# The process and its descendants (relaymesh dev may run nodes as children).
tree() {
  local p=$1 c
  echo "$p"
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree "$c"; done
}

# cpu_ticks PID...: user+system CPU ticks of the processes, summed.
cpu_ticks() {
  local t=0 p f
  for p in "$@"; do
    f=$(cat /proc/"$p"/stat 2>/dev/null) || continue
    f=${f##*) } # fields after the command name: field 3 is the first
    set -- $f
    t=$((t + ${12} + ${13}))
  done
  echo $t
}

# peak_rss_mib PID...: the sum of the processes' peak RSS (VmHWM), MiB.
peak_rss_mib() {
  local k=0 p v
  for p in "$@"; do
    v=$(awk '/^VmHWM:/ {print $2}' /proc/"$p"/status 2>/dev/null) || continue
    k=$((k + ${v:-0}))
  done
  echo $((k / 1024))
}

echo "== building"
go build -o "$tmp/relaymesh" ./cmd/relaymesh
go build -o "$tmp/phase1chat" ./cmd/phase1chat

BENCH=("$tmp/relaymesh" bench chat --fans "$FANS" --rooms "$ROOMS" --rate "$RATE" --duration "$DURATION"
  --per-ip-rate 0 "${EXTRA[@]}")
TICK=$(getconf CLK_TCK)

# run_bench NAME PID...: runs the bench, prints its report, and the CPU and
# peak RSS of the given server processes over the bench.
run_bench() {
  local name=$1; shift
  local t0 t1 s0 s1
  t0=$(cpu_ticks "$@"); s0=$(date +%s.%N)
  timeout --signal=INT --kill-after=30 900 "${BENCH[@]}" "$BENCH_TARGET" "$BENCH_TARGET_VALUE" \
    >"$tmp/$name.txt" 2>"$tmp/$name.log" || { cat "$tmp/$name.log" >&2; echo "compare: $name bench failed" >&2; }
  t1=$(cpu_ticks "$@"); s1=$(date +%s.%N)
  cat "$tmp/$name.txt"
  awk -v d=$((t1 - t0)) -v hz="$TICK" -v a="$s0" -v b="$s1" -v rss="$(peak_rss_mib "$@")" -v n=$# \
    'BEGIN { printf "server processes (%d): cpu %.1fs over %.1fs of bench = %.0f%% of one core; peak rss %d MiB\n", n, d/hz, b-a, 100*d/hz/(b-a), rss }' \
    | tee "$tmp/$name.usage"
}

echo "== phase-1 stack: redis-server + $SERVERS gorilla/websocket servers"
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  --maxclients 10000 >"$tmp/redis.log" 2>&1 &
pids+=($!)
redis_pid=$!
wait_for redis-cli -p "$rport" ping
urls=()
server_pids=("$redis_pid")
for i in $(seq "$SERVERS"); do
  "$tmp/phase1chat" --listen 127.0.0.1:0 --name "p1-$i" --redis "127.0.0.1:$rport" >"$tmp/p1-$i.log" 2>&1 &
  pids+=($!)
  server_pids+=($!)
  wait_for grep -q 'msg=serving' "$tmp/p1-$i.log"
  urls+=("http://$(grep -m1 -o 'addr=127.0.0.1:[0-9]*' "$tmp/p1-$i.log" | cut -d= -f2)")
done
BENCH_TARGET=--servers BENCH_TARGET_VALUE=$(IFS=,; echo "${urls[*]}")
echo "servers: $BENCH_TARGET_VALUE (redis 127.0.0.1:$rport)"
run_bench phase1 "${server_pids[@]}"
stop_all

echo
echo "== relaymesh: relaymesh dev --wan=false ${DEV_FLAGS:-}"
"$tmp/relaymesh" dev --wan=false --chat-rate 100000 --http-port 0 --mesh-port 0 --origin-port 0 \
  --data-dir "$tmp/dev" "${DEV_EXTRA[@]}" >"$tmp/dev.log" 2>&1 &
pids+=($!)
dev_pid=$!
wait_for grep -qE '^  [a-z]+ +[a-z0-9-]+ +http://127\.0\.0\.1:[0-9]+' "$tmp/dev.log"
first=$(grep -m1 -oE '^  [a-z]+ +[a-z0-9-]+ +http://127\.0\.0\.1:[0-9]+' "$tmp/dev.log" | grep -oE 'http://[0-9.:]+')
for u in $(grep -oE '^  [a-z]+ +[a-z0-9-]+ +http://127\.0\.0\.1:[0-9]+' "$tmp/dev.log" | grep -oE 'http://[0-9.:]+'); do
  wait_for curl -sf "$u/readyz"
done
BENCH_TARGET=--discover BENCH_TARGET_VALUE=$first
BENCH+=(--wait-tree 30s)
echo "mesh: $first"
mapfile -t dev_pids < <(tree "$dev_pid")
run_bench relaymesh "${dev_pids[@]}"
stop_all

echo
echo "== side by side: $FANS fans, $ROOMS rooms, $RATE msg/s, $DURATION"
row() { awk '$1 == "all" && $2 == "all" { print $7, $8, $4, $5 }' "$tmp/$1.txt"; }
read -r p50a p99a dela losta <<<"$(row phase1)" || true
read -r p50b p99b delb lostb <<<"$(row relaymesh)" || true
printf '%-10s %10s %10s %10s %8s   %s\n' stack "p50 ms" "p99 ms" delivered lost "server usage"
printf '%-10s %10s %10s %10s %8s   %s\n' phase-1 "${p50a:--}" "${p99a:--}" "${dela:--}" "${losta:--}" "$(cat "$tmp/phase1.usage" 2>/dev/null)"
printf '%-10s %10s %10s %10s %8s   %s\n' relaymesh "${p50b:--}" "${p99b:--}" "${delb:--}" "${lostb:--}" "$(cat "$tmp/relaymesh.usage" 2>/dev/null)"
awk -v a="${p50a:-0}" -v b="${p50b:-0}" -v c="${p99a:-0}" -v d="${p99b:-0}" 'BEGIN {
  if (a > 0 && c > 0) printf "relaymesh / phase-1: p50 %.2fx, p99 %.2fx (below 1: relaymesh is faster)\n", b/a, d/c
  else print "relaymesh / phase-1: no ratio (a run delivered nothing)"
}'
