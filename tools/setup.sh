#!/usr/bin/env bash
# Installs every Debian package cachemesh needs to build, test and demo,
# and the npm packages of the Redis client runners in
# tests/integration/redis_clients (from its package-lock.json).
# Idempotent: runs `apt-get update` and `apt-get install` only when a
# package is missing, and `npm ci` only when node_modules is missing or older
# than package-lock.json. Starts no server. Run as root, or with sudo
# available.
set -euo pipefail

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REDIS_CLIENTS="$ROOT/tests/integration/redis_clients"

readonly PACKAGES=(
  # Build.
  bazel-bootstrap bazel-rules-java bazel-platforms
  g++ pkg-config protobuf-compiler
  # Libraries.
  libzmq3-dev cppzmq-dev libprotobuf-dev libabsl-dev
  libgtest-dev libgmock-dev libcpp-httplib-dev libssl-dev
  # Tests, demo and operations tooling.
  curl jq python3 iproute2 iptables procps util-linux
  # The real load balancers of tests/integration/load_balancer_test and
  # cachemeshctl_test (which checks `cachemeshctl lb` output with both).
  haproxy nginx
  # Redis server, redis-cli and redis-py for the Redis-protocol endpoint's
  # tests and tests/integration/redis_clients/check_against_redis.sh.
  redis-server redis-tools python3-redis
)

packages=("${PACKAGES[@]}")
# The machine kind ships Node.js 20 and npm; a bare Debian gets its own.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

# Installs the runners' npm packages when node_modules is missing or older
# than package-lock.json.
install_redis_clients() {
  local modules="$REDIS_CLIENTS/node_modules"
  if [[ -d "$modules" && ! "$REDIS_CLIENTS/package-lock.json" -nt "$modules" ]]; then
    return
  fi
  echo "setup: npm ci in tests/integration/redis_clients"
  (cd "$REDIS_CLIENTS" && npm ci --no-audit --no-fund --loglevel=error)
  # npm ci leaves node_modules' time at its creation; mark it up to date.
  touch "$modules"
}

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
      grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages already installed"
  install_redis_clients
  exit 0
fi

sudo=()
if ((EUID != 0)); then
  sudo=(sudo)
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_redis_clients
echo "setup: done"
