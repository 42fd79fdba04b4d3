#!/usr/bin/env bash
# Developer tool, not run by CI: checks every runner of this folder against a
# real redis-server (tools/setup.sh installs it and the npm packages).
#
#   tests/integration/redis_clients/check_against_redis.sh [RUNNER...]
#
# For each runner: 2 subscribers (one SUBSCRIBE, one PSUBSCRIBE) on a channel
# of its own and 1 publisher of 200 binary messages (S-i 00 0d 0a ff); each
# subscriber file must read READY then exactly those 200 MSG lines in order.
# Then redis-server is killed -9 and started again on the same port after
# DOWN_SECONDS (default 2); each subscriber must write READY again by itself,
# and receive the 20 messages published after that. Prints one PASS/FAIL line
# per runner and exits non-zero when any failed. Uses a free port, bounded
# waits, and stops every process it started. KEEP=1 keeps the work folder.
set -uo pipefail

readonly HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly COUNT=200 COUNT_AFTER=20 DOWN_SECONDS="${DOWN_SECONDS:-2}"

declare -A RUNNER=(
  [redis-py]="python3 $HERE/redis_py_client.py"
  [ioredis5]="node $HERE/ioredis_client.js --lib ioredis5"
  [ioredis6]="node $HERE/ioredis_client.js --lib ioredis6"
  [node-redis4]="node $HERE/node_redis_client.js --lib redis4"
  [node-redis5-resp3]="node $HERE/node_redis_client.js --lib redis5 --resp 3"
  [redis-cli]="bash $HERE/redis_cli_client.sh"
  [redis-cli-resp3]="bash $HERE/redis_cli_client.sh -3"
)
ORDER=(redis-py ioredis5 ioredis6 node-redis4 node-redis5-resp3 redis-cli redis-cli-resp3)
if (($#)); then
  ORDER=("$@")
fi
for name in "${ORDER[@]}"; do
  [[ -n "${RUNNER[$name]:-}" ]] || { echo "unknown runner $name (${!RUNNER[*]})" >&2; exit 2; }
done
for tool in redis-server redis-cli node python3 od; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run tools/setup.sh" >&2; exit 2; }
done
[[ -d "$HERE/node_modules" ]] || { echo "missing node_modules: run tools/setup.sh" >&2; exit 2; }

work="$(mktemp -d /tmp/redis_clients_check.XXXXXX)"
pids=()
redis_pid=""
cleanup() {
  local pid
  for pid in "${pids[@]}" $redis_pid; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}" $redis_pid; do
    wait "$pid" 2>/dev/null
  done
  if [[ "${KEEP:-0}" == 1 ]]; then
    echo "work folder kept: $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port="$(free_port)"
start_redis() {
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --daemonize no --dir "$work" >>"$work/redis-server.log" 2>&1 &
  redis_pid=$!
  local deadline=$(($(now_ms) + 10000))
  until [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]]; do
    if (($(now_ms) > deadline)); then
      echo "redis-server did not answer on port $port within 10 s" >&2
      exit 1
    fi
    sleep 0.05
  done
}

# Lines that a subscriber writes for messages PREFIX-0 .. PREFIX-(N-1).
expected_msgs() { # CHANNEL PREFIX N
  python3 - "$@" <<'EOF'
import sys
channel, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(count):
    payload = f"{prefix}-{i}".encode() + b"\x00\r\n\xff"
    print(f"MSG {channel.encode().hex()} {payload.hex()}")
EOF
}

count_lines() { # FILE WORD
  local n
  n="$(grep -c "^$2" "$1" 2>/dev/null)"
  echo "${n:-0}"
}

# Waits until FILE has at least N lines starting with WORD; false at DEADLINE.
wait_lines() { # FILE WORD N DEADLINE_MS
  while (($(count_lines "$1" "$2") < $3)); do
    (($(now_ms) > $4)) && return 1
    sleep 0.1
  done
}

# Runs every runner's publisher at once; records failures in $work/NAME.fail.
publish_all() { # PREFIX N
  local name
  declare -A pub=()
  for name in "${ORDER[@]}"; do
    ${RUNNER[$name]} pub --host 127.0.0.1 --port "$port" --channel "$name.chan" \
      --count "$2" --prefix "$1" --binary >"$work/$name.pub.$1.out" 2>"$work/$name.pub.$1.err" &
    pub[$name]=$!
    pids+=("$!")
  done
  local deadline=$(($(now_ms) + 120000))
  for name in "${ORDER[@]}"; do
    while kill -0 "${pub[$name]}" 2>/dev/null && (($(now_ms) < deadline)); do
      sleep 0.1
    done
    if kill -0 "${pub[$name]}" 2>/dev/null; then
      kill "${pub[$name]}"
      echo "publisher $1 still running after 120 s" >>"$work/$name.fail"
    elif ! wait "${pub[$name]}"; then
      echo "publisher $1 failed: $(tail -n 1 "$work/$name.pub.$1.err")" >>"$work/$name.fail"
    elif [[ "$(cat "$work/$name.pub.$1.out")" != "PUBLISHED $2" ]]; then
      echo "publisher $1 printed '$(cat "$work/$name.pub.$1.out")'" >>"$work/$name.fail"
    fi
  done
}

start_redis
echo "redis-server $(redis-server --version | grep -o 'v=[0-9.]*') on 127.0.0.1:$port; runners: ${ORDER[*]}"

# Two subscribers per runner: SUBSCRIBE NAME.chan and PSUBSCRIBE NAME.ch*.
subs=()
for name in "${ORDER[@]}"; do
  for kind in plain pattern; do
    sub="$name.$kind"
    if [[ $kind == plain ]]; then
      ${RUNNER[$name]} sub --host 127.0.0.1 --port "$port" --channel "$name.chan" \
        --out "$work/$sub.out" 2>"$work/$sub.err" &
    else
      ${RUNNER[$name]} sub --host 127.0.0.1 --port "$port" --channel "$name.ch*" --pattern \
        --out "$work/$sub.out" 2>"$work/$sub.err" &
    fi
    pids+=("$!")
    subs+=("$sub")
  done
done
deadline=$(($(now_ms) + 60000))
for sub in "${subs[@]}"; do
  wait_lines "$work/$sub.out" READY 1 "$deadline" ||
    echo "$sub: no READY within 60 s" >>"$work/${sub%.*}.fail"
done

publish_all before "$COUNT"
deadline=$(($(now_ms) + 30000))
for sub in "${subs[@]}"; do
  name="${sub%.*}"
  wait_lines "$work/$sub.out" MSG "$COUNT" "$deadline"
  { echo READY; expected_msgs "$name.chan" before "$COUNT"; } >"$work/$sub.expected1"
  if ! cmp -s "$work/$sub.out" "$work/$sub.expected1"; then
    echo "$sub: $(count_lines "$work/$sub.out" MSG)/$COUNT messages, or not exact and in order" >>"$work/$name.fail"
  fi
done

# kill -9, down for DOWN_SECONDS, up again on the same port.
kill -9 "$redis_pid"
wait "$redis_pid" 2>/dev/null
sleep "$DOWN_SECONDS"
start_redis
restarted=$(now_ms)
deadline=$((restarted + 60000))
declare -A reconnect_ms=()
pending=("${subs[@]}")
while ((${#pending[@]})) && (($(now_ms) < deadline)); do
  left=()
  for sub in "${pending[@]}"; do
    if (($(count_lines "$work/$sub.out" READY) >= 2)); then
      reconnect_ms[$sub]=$(($(now_ms) - restarted))
    else
      left+=("$sub")
    fi
  done
  pending=("${left[@]}")
  ((${#pending[@]})) && sleep 0.05
done
for sub in "${pending[@]}"; do
  echo "$sub: no READY again within 60 s of the restart" >>"$work/${sub%.*}.fail"
done

publish_all after "$COUNT_AFTER"
deadline=$(($(now_ms) + 30000))
for sub in "${subs[@]}"; do
  name="${sub%.*}"
  wait_lines "$work/$sub.out" MSG $((COUNT + COUNT_AFTER)) "$deadline"
  { cat "$work/$sub.expected1"; echo READY; expected_msgs "$name.chan" after "$COUNT_AFTER"; } >"$work/$sub.expected2"
  if [[ -z "${reconnect_ms[$sub]:-}" ]]; then
    continue # Already reported.
  fi
  if ! cmp -s "$work/$sub.out" "$work/$sub.expected2"; then
    echo "$sub: after the restart, not READY then the $COUNT_AFTER messages exactly" \
      "($(count_lines "$work/$sub.out" MSG) MSG lines in all)" >>"$work/$name.fail"
  fi
done

failed=0
for name in "${ORDER[@]}"; do
  if [[ -s "$work/$name.fail" ]]; then
    failed=1
    echo "FAIL $name: $(paste -sd ';' "$work/$name.fail")"
    for sub in "$name.plain" "$name.pattern"; do
      sed "s/^/  $sub stderr: /" "$work/$sub.err" | tail -n 5
    done
  else
    echo "PASS $name: 2 subscribers got $COUNT/$COUNT binary messages exact and in order;" \
      "after kill -9 and ${DOWN_SECONDS} s down, READY again" \
      "${reconnect_ms[$name.plain]} ms / ${reconnect_ms[$name.pattern]} ms after the restart," \
      "then $COUNT_AFTER/$COUNT_AFTER messages"
  fi
done
if ((failed)); then
  KEEP=1
  echo "some runners FAILED"
  exit 1
fi
echo "all ${#ORDER[@]} runners passed"
