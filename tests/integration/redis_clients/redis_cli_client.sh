#!/usr/bin/env bash
# redis-cli (Debian's redis-tools 7.0) driven by the runner contract.
#
#   redis_cli_client.sh [-3] sub --host H --port P --channel C [--pattern] --out FILE
#   redis_cli_client.sh [-3] pub --host H --port P --channel C --count N --prefix S [--binary]
#
# -3 makes redis-cli speak RESP3 (HELLO 3); RESP2 otherwise.
#
# sub runs `redis-cli --no-raw subscribe C` (psubscribe with --pattern), whose
# output quotes every string with C-style escapes, and turns it into READY (on
# the subscribe confirmation) and MSG <channel hex> <payload hex> lines in
# FILE. redis-cli exits when the server goes away and does not reconnect: this
# wrapper starts it again (backoff 0.1, 0.2, 0.5 then 1 s), so READY is written
# again after each resubscription. It runs until killed (SIGTERM ends
# redis-cli too).
#
# pub feeds one redis-cli the N `publish C "S-i"` lines on standard input
# (quoted, with \x00\r\n\xff escapes for --binary, so the bytes are exact);
# redis-cli sends each after the reply to the one before. It checks that the
# N replies are integers.
set -uo pipefail

log() { echo "redis_cli_client: $*" >&2; }
usage() {
  sed -n '4,5p' "$0" | sed 's/^# *//' >&2
  exit 2
}

resp=()
mode=""
host=127.0.0.1
port=""
channel=""
pattern=0
out=""
count=""
prefix=""
binary=0
while (($#)); do
  case "$1" in
    -3) resp=(-3) ;;
    sub | pub) mode="$1" ;;
    --pattern) pattern=1 ;;
    --binary) binary=1 ;;
    --host | --port | --channel | --out | --count | --prefix)
      (($# >= 2)) || usage
      declare "${1#--}=$2"
      shift
      ;;
    *) log "unknown argument $1"; usage ;;
  esac
  shift
done
[[ -n "$mode" && "$port" =~ ^[0-9]+$ && -n "$channel" ]] || usage

cli=(redis-cli "${resp[@]}" -h "$host" -p "$port")

# Hex of the bytes that redis-cli's quoted form "..." stands for: printable
# ASCII as is, and sdscatrepr's escapes \\ \" \n \r \t \a \b \xHH. Builtins
# only, the result in $hex: no process per message.
unquote_hex() {
  local s="${1#\"}" c h i
  hex=""
  s="${s%\"}"
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    if [[ "$c" == '\' ]]; then
      c="${s:i+1:1}"
      ((i++))
      case "$c" in
        x) h="${s:i+1:2}"; ((i += 2)); hex+="${h,,}"; continue ;;
        n) hex+=0a; continue ;;
        r) hex+=0d; continue ;;
        t) hex+=09; continue ;;
        a) hex+=07; continue ;;
        b) hex+=08; continue ;;
      esac
    fi
    printf -v h '%02x' "'$c"
    hex+="$h"
  done
}

# Reads redis-cli --no-raw output ("1) "message"", "2) "ch"", ...) and
# appends READY and MSG lines to $out.
convert() {
  local line index value kind="" hex channel_hex
  local -a field=()
  while IFS= read -r line; do
    if [[ ! "$line" =~ ^([0-9]+)\)\ (.*)$ ]]; then
      [[ "$line" == "Reading messages"* ]] || log "redis-cli: $line"
      continue
    fi
    index="${BASH_REMATCH[1]}"
    value="${BASH_REMATCH[2]}"
    if ((index == 1)); then
      field=()
      kind="$value"
    fi
    field[index]="$value"
    case "$kind:$index" in
      '"subscribe":3' | '"psubscribe":3') echo READY >>"$out" ;;
      '"message":3' | '"pmessage":4')
        unquote_hex "${field[index - 1]}"
        channel_hex="$hex"
        unquote_hex "${field[index]}"
        echo "MSG $channel_hex $hex" >>"$out"
        ;;
    esac
  done
}

subscribe() {
  [[ -n "$out" ]] || usage
  local command=subscribe backoff=0.1 pid="" status started
  ((pattern)) && command=psubscribe
  trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; exit 0' TERM INT
  while true; do
    started=$SECONDS
    "${cli[@]}" --no-raw "$command" "$channel" > >(convert) &
    pid=$!
    wait "$pid"
    status=$?
    pid=""
    # A subscription that lasted starts the backoff over.
    ((SECONDS - started >= 5)) && backoff=0.1
    log "redis-cli exited with status $status; starting it again in ${backoff} s"
    sleep "$backoff"
    case "$backoff" in 0.1) backoff=0.2 ;; 0.2) backoff=0.5 ;; *) backoff=1 ;; esac
  done
}

# $1 with \ and " escaped for redis-cli's parser of commands (sdssplitargs).
escape() {
  local s="${1//\\/\\\\}"
  printf '%s' "${s//\"/\\\"}"
}

publish() {
  [[ "$count" =~ ^[0-9]+$ && -n "$prefix" ]] || usage
  local suffix="" i replies bad channel_arg prefix_arg
  ((binary)) && suffix='\x00\r\n\xff'
  channel_arg="$(escape "$channel")"
  prefix_arg="$(escape "$prefix")"
  # One redis-cli reads the commands from standard input and sends each one
  # after the reply to the one before; it prints the integer replies a line
  # each.
  replies="$(
    for ((i = 0; i < count; i++)); do
      printf 'publish "%s" "%s-%d%s"\n' "$channel_arg" "$prefix_arg" "$i" "$suffix"
    done | "${cli[@]}" 2>&1
  )"
  bad="$(grep -cvE '^[0-9]+$' <<<"$replies")"
  if [[ "$(grep -cE '^[0-9]+$' <<<"$replies")" != "$count" ]] || ((count && bad)); then
    log "pub failed: redis-cli said: $(grep -vE '^[0-9]+$' <<<"$replies" | head -n 1)"
    exit 1
  fi
  echo "PUBLISHED $count"
}

if [[ "$mode" == sub ]]; then
  subscribe
else
  publish
fi
