#!/usr/bin/env bash
# Installs every Debian package cachemesh needs to build, test and demo.
# Idempotent: runs `apt-get update` and `apt-get install` only when a
# package is missing. Run as root, or with sudo available.
set -euo pipefail

readonly PACKAGES=(
  # Build.
  bazel-bootstrap bazel-rules-java bazel-platforms
  g++ pkg-config protobuf-compiler
  # Libraries.
  libzmq3-dev cppzmq-dev libprotobuf-dev libabsl-dev
  libgtest-dev libgmock-dev libcpp-httplib-dev libssl-dev
  # Tests, demo and operations tooling.
  curl jq python3 iproute2 iptables procps util-linux
  # The real load balancer of tests/integration/load_balancer_test.
  haproxy
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
      grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
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
echo "setup: done"
