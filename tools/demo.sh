#!/usr/bin/env bash
# A live 3-node cachemesh cluster on this machine, in one minute:
# membership, an invalidation crossing the mesh (with its latency), DHIS 2's
# Redis pub/sub served by each node's daemon (redis-cli publishing on one
# node, redis-cli subscribers on every node), a node killed with -9 and
# marked DEAD, what /health says, and a clean stop.
#
#   bazel run //tools:demo
set -euo pipefail

daemon=$(realpath "${1:?usage: demo.sh path/to/cachemeshd}")
work=$(mktemp -d /tmp/cachemesh-demo.XXXXXX)
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Free TCP ports, asked of the kernel (port 0), never fixed numbers.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    shuf -i 20000-40000 -n 1
}

now_ms() { date +%s%3N; }

declare -a cache http redis
for i in 1 2 3; do
  cache[i]=$(free_port)
  http[i]=$(free_port)
  redis[i]=$(free_port)
done

start_node() {
  local i=$1
  cat >"$work/n$i.conf" <<EOF
# dhis.conf of node n$i (DHIS 2 2.29+ style).
cluster.hostname = 127.0.0.1
cluster.cache.port = ${cache[i]}
cluster.members = $(for j in 1 2 3; do [[ $j == "$i" ]] || printf '127.0.0.1:%s,' "${cache[j]}"; done | sed 's/,$//')
cachemesh.cluster.name = demo
cachemesh.node.id = n$i
cachemesh.bind.address = 127.0.0.1
cachemesh.http.address = 127.0.0.1
cachemesh.http.port = ${http[i]}
cachemesh.client.endpoint = ipc://$work/n$i.sock
# DHIS 2's own Redis keys: its cache invalidation goes to this node's daemon.
redis.cache.invalidation.enabled = on
redis.host = 127.0.0.1
redis.port = ${redis[i]}
EOF
  "$daemon" --config="$work/n$i.conf" >"$work/n$i.log" 2>&1 &
  pids[i]=$!
}

api() { curl -sS --max-time 2 "http://127.0.0.1:${http[$1]}$2" "${@:3}"; }

members() {
  api "$1" /v1/members | jq -r '.members[] | "  \(.id)\t\(.state)\tincarnation \(.incarnation)\theard \(.lastHeardMs // "0") ms ago\(if .self then " (self)" else "" end)"'
}

state_of() {
  api "$1" /v1/members | jq -r --arg id "$2" '.members[] | select(.id == $id) | .state'
}

wait_for() {  # wait_for SECONDS COMMAND...: polls until COMMAND succeeds.
  local deadline=$(($(now_ms) + $1 * 1000))
  shift
  until "$@"; do
    (($(now_ms) < deadline)) || return 1
    sleep 0.02
  done
}

all_alive() {
  for i in 1 2 3; do
    [[ $(api "$i" /v1/members 2>/dev/null | jq '[.members[] | select(.state == "ALIVE")] | length') == 3 ]] || return 1
  done
}

say "Starting three cachemeshd nodes (cache ports ${cache[1]}, ${cache[2]}, ${cache[3]})"
for i in 1 2 3; do start_node "$i"; done
wait_for 10 all_alive || { echo "the cluster did not form; logs in $work"; cat "$work"/*.log; exit 1; }
echo "n1's view of the cluster:"
members 1

say "Publishing an invalidation on n1; n2 and n3 receive it over SSE"
for i in 2 3; do
  curl -sN "http://127.0.0.1:${http[i]}/v1/invalidations/stream" 2>/dev/null |
    while IFS= read -r line; do
      [[ $line == data:* ]] && printf '%s %s\n' "$(now_ms)" "${line#data: }"
    done >"$work/stream$i" &
  pids+=($!)
done
sleep 0.3  # Let both readers connect; the stream starts live from "now".
sent=$(now_ms)
api 1 /v1/invalidations -X POST -H 'Content-Type: application/json' \
  -d '{"invalidations":[{"op":"UPDATE","region":"org.hisp.dhis.dataelement.DataElement","key":"fbfJHSPpUQD"}]}' >/dev/null
for i in 2 3; do
  wait_for 5 grep -q fbfJHSPpUQD "$work/stream$i"
  read -r arrived event <"$work/stream$i"
  echo "  n$i got $(jq -c '{op: .invalidation.op, region: .invalidation.region, key: .invalidation.key, from: .originId}' <<<"$event") after $((arrived - sent)) ms (HTTP in, SSE out)"
done
echo "  n2's propagation-latency histogram (mesh only):"
api 2 /metrics | grep -E '^cachemesh_propagation_latency_seconds_(count|sum)' | sed 's/^/    /'

say "DHIS 2's Redis pub/sub, served by each node's cachemeshd"
channel=dhis2_cache_invalidation
for i in 1 2 3; do
  redis-cli -p "${redis[i]}" subscribe "$channel" >"$work/redis$i" 2>&1 &
  pids+=($!)
done
subscribed() { for i in 1 2 3; do [[ $(wc -l <"$work/redis$i") -ge 3 ]] || return 1; done; }
wait_for 5 subscribed
message="Xk3v9aPq0Lm:update:org.hisp.dhis.user.User:42"
echo "  redis-cli -p ${redis[1]} publish $channel $message"
echo "    -> $(redis-cli -p "${redis[1]}" publish "$channel" "$message") (subscribers on n1 itself)"
for i in 1 2 3; do
  wait_for 5 grep -q "^$message\$" "$work/redis$i"
  echo "  redis-cli subscriber on n$i got: $(tail -n 1 "$work/redis$i")"
done

say "Killing n3 with kill -9"
killed=$(now_ms)
kill -9 "${pids[3]}"
wait "${pids[3]}" 2>/dev/null || true
n3_dead() { [[ $(state_of 1 n3) == DEAD && $(state_of 2 n3) == DEAD ]]; }
wait_for 5 n3_dead
echo "  n1 and n2 marked n3 DEAD after $(($(now_ms) - killed)) ms"
members 1
echo "  n1 GET /health -> $(api 1 /health -o /dev/null -w '%{http_code}') $(api 1 /health)"

say "Draining n2 for a rolling restart, then undraining it"
api 2 /v1/drain -X POST -d '' >/dev/null
echo "  n2 GET /health -> $(api 2 /health -o /dev/null -w '%{http_code}') $(api 2 /health)"
api 2 /v1/drain -X DELETE -d '' >/dev/null
echo "  n2 GET /health -> $(api 2 /health -o /dev/null -w '%{http_code}')"

say "Stopping n1 and n2 gracefully (SIGTERM)"
kill -TERM "${pids[1]}"
n1_left() { [[ $(state_of 2 n1) == LEFT ]]; }
wait_for 2 n1_left && echo "  n2 saw n1 LEFT at once"
kill -TERM "${pids[2]}"
wait "${pids[1]}" "${pids[2]}" 2>/dev/null || true
echo "  all stopped. n1's log:"
sed 's/^/    /' "$work/n1.log"
